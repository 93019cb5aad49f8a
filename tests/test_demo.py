"""The demo's widget logic, driven headlessly: canvas events are replayed as the browser would send them."""
from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ipycanvas")
pytest.importorskip("ipywidgets")

from gdn.cli import demo as demo_cli  # noqa: E402
from gdn.demo import InpaintDemo, launch  # noqa: E402
from gdn.demo.canvas import stamp_segment  # noqa: E402
from gdn.demo.launch import find_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def det_checkpoint(tmp_path_factory) -> Path:
    from gdn.engine.checkpoint import save_checkpoint
    from gdn.config import resolve
    from gdn.frameworks import Framework

    path = tmp_path_factory.mktemp("ckpt") / "det.pt"
    cfg = resolve("smoke", {"width": "8", "res_blocks": "1"})
    save_checkpoint(path, Framework(cfg).state(), cfg, step=0)
    return path


@pytest.fixture
def small_photo() -> np.ndarray:
    """A 96x128 photo (crop of astronaut) so the detector runs fast; the view is 48x64 (scale 2)."""
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[:96, 100:228])


@pytest.fixture
def demo(det_checkpoint, small_photo) -> InpaintDemo:
    d = ready(InpaintDemo(det_checkpoint, photo=small_photo, view_max=64, device="cpu"))
    d.learn.value = False  # per-photo learning has its own test below
    return d


def send(canvas, event, x=None, y=None, touches=None):
    content = {"event": event}
    if touches is not None:
        content["touches"] = [{"x": tx, "y": ty} for tx, ty in touches]
    else:
        content.update(x=x, y=y)
    canvas._handle_frontend_event(canvas, content, [])


def ready(demo):
    """The browser view announces itself; only then does the demo draw on the canvas."""
    send(demo.canvas, "client_ready")
    return demo


def drag(demo, points):
    c = demo.canvas
    send(c, "mouse_down", *points[0])
    for p in points[1:]:
        send(c, "mouse_move", *p)
    send(c, "mouse_up", *points[-1])


def upload(demo, name, content: bytes):
    """What the browser sends when a file is chosen: the widget state, deserialised as in a comm message."""
    demo.upload.set_state({"value": [{"name": name, "type": "image/png", "size": len(content),
                                      "content": memoryview(content), "last_modified": 1700000000000}]})


def test_view_is_downscaled_and_mask_is_full_resolution(demo, small_photo):
    assert demo.mask.shape == small_photo.shape[:2] and demo.mask.dtype == bool and not demo.mask.any()
    assert (demo.canvas.width, demo.canvas.height) == (64, 48)
    assert demo.canvas.layout.width == "64px"
    assert demo.scale == (2.0, 2.0)


def test_stroke_events_set_the_mask_along_the_line(demo):
    drag(demo, [(10, 20), (30, 20), (50, 20)])
    m = demo.mask
    assert m.any()
    ys, xs = np.nonzero(m)
    # view (10..50, 20) -> full resolution (20.5..100.5, 40.5) with a radius of brush/2 * 2 = 24 px
    assert abs(np.median(ys) - 40.5) <= 1.5
    assert xs.min() <= 20.5 - 20 and xs.max() >= 100.5 + 20
    assert m[40, 20:101].all()
    assert not m[:, 125:].any() and not m[:10].any()
    assert "hole:" in demo.status.value
    # the events outside a stroke (moves with no button down) do nothing
    before = m.copy()
    send(demo.canvas, "mouse_move", 5, 5)
    assert np.array_equal(demo.mask, before)


def test_touch_events_draw_too(demo):
    c = demo.canvas
    send(c, "touch_start", touches=[(5, 40)])
    send(c, "touch_move", touches=[(25, 40)])
    send(c, "touch_end", touches=[])
    assert demo.mask[80, 10:50].all()
    send(c, "touch_move", touches=[(60, 5)])  # after the touch ended: no drawing
    assert not demo.mask[:20, 110:].any()


def test_brush_size_matters(demo):
    areas = []
    for size in (4, 16):
        demo.clear()
        demo.brush.value = size
        drag(demo, [(10, 24), (50, 24)])
        areas.append(int(demo.mask.sum()))
    assert areas[1] > 3 * areas[0] > 0


def test_erase_removes(demo):
    demo.brush.value = 16
    drag(demo, [(10, 24), (50, 24)])
    assert demo.mask[48, 40:80].all()
    demo.mode.value = "erase"
    demo.brush.value = 8
    drag(demo, [(30, 0), (30, 47)])  # a vertical cut through the stroke
    assert not demo.mask[:, 56:66].any()
    assert demo.mask[48, 20:40].all() and demo.mask[48, 80:100].all()


def test_undo_restores_the_previous_mask_and_clear_empties(demo):
    drag(demo, [(10, 10), (20, 10)])
    first = demo.mask.copy()
    drag(demo, [(40, 30), (60, 40)])
    assert not np.array_equal(demo.mask, first)
    demo.undo_button.click()
    assert np.array_equal(demo.mask, first)
    demo.clear_button.click()
    assert not demo.mask.any()
    demo.undo_button.click()  # clear is undoable too
    assert np.array_equal(demo.mask, first)
    demo.undo()
    assert not demo.mask.any()
    demo.undo()  # nothing left: harmless
    assert "nothing to undo" in demo.status.value


def test_canvas_is_drawn_after_client_ready_and_strokes_send_patches(det_checkpoint, small_photo, monkeypatch):
    d = InpaintDemo(det_checkpoint, photo=small_photo, view_max=64, device="cpu")
    sent = []
    monkeypatch.setattr(d.canvas, "put_image_data", lambda a, x=0, y=0: sent.append((a.shape, x, y)))
    drag(d, [(10, 10), (12, 10)])  # no browser view yet: the mask changes, nothing is sent
    assert d.mask.any() and sent == []
    ready(d)
    assert sent == [((48, 64, 3), 0, 0)]  # the whole view, hole included
    drag(d, [(40, 30), (42, 31)])
    assert len(sent) == 3 and all(s[0][0] < 48 and s[0][1] < 64 for s in sent[1:])
    (h, w, _), x, y = sent[1]
    assert x <= 40 <= x + w and y <= 30 <= y + h


def test_canvas_view_shows_the_hole(demo):
    drag(demo, [(10, 10), (20, 10)])
    view = demo.render_view()
    assert view.shape == (48, 64, 3)
    assert view[10, 15, 0] > 200 and view[10, 15, 1] < 120  # tinted red
    assert np.array_equal(view[40, 60], demo.view_image[40, 60])


def test_inpaint_changes_only_hole_pixels_and_offers_the_png(demo, small_photo):
    drag(demo, [(20, 20), (40, 25)])
    hole = demo.mask.copy()
    demo.inpaint_button.click()
    out = demo.result
    assert out is not None and out.shape == small_photo.shape and out.dtype == np.uint8
    assert np.array_equal(out[~hole], small_photo[~hole])
    assert (out[hole] != small_photo[hole]).any()
    assert re.search(r"inpainted 128x96 px in \d+\.\d\d s", demo.status.value)
    assert demo.timings["total_s"] > 0 and demo.progress.value == demo.progress.max
    assert not demo.inpaint_button.disabled
    href = re.search(r"href='data:image/png;base64,([^']+)'", demo.download.value).group(1)
    from PIL import Image
    png = np.asarray(Image.open(io.BytesIO(base64.b64decode(href))))
    assert np.array_equal(png, out)
    assert "download=" in demo.download.value


def test_learning_the_photo_first_is_a_switch_with_progress(demo, small_photo):
    from gdn.engine.adapt import Adaptation

    steps = Adaptation().steps
    drag(demo, [(20, 20), (40, 25)])
    plain = demo.run_inpaint()
    demo.learn.value = True  # the recipe's steps on the photo's own pixels
    seen = []
    demo.progress.observe(lambda change: seen.append(change["new"]), names="value")
    learned = demo.run_inpaint()
    assert demo.progress.max == steps + 3 and seen[:steps + 1] == list(range(steps + 1))  # reset, then each step
    assert f"after {steps} steps on the photo" in demo.status.value
    assert np.array_equal(learned[~demo.mask], small_photo[~demo.mask]) and not np.array_equal(learned, plain)
    demo.learn.value = False
    assert np.array_equal(demo.run_inpaint(), plain)  # off again: the checkpoint's own fill


def test_artifact_overlay_has_the_photo_size(demo, small_photo):
    drag(demo, [(20, 20), (40, 25)])
    demo.run_inpaint()
    assert demo.vmap.shape == small_photo.shape[:2] and demo.vmap.dtype == np.float32
    assert demo.overlay_image.shape == small_photo.shape and demo.overlay_image.dtype == np.uint8
    assert demo.artifact_view.value[:4] == b"\x89PNG"
    assert "mean V" in demo.artifact_note.value


def test_artifact_map_can_be_switched_off(demo):
    drag(demo, [(20, 20), (40, 25)])
    demo.with_artifacts.value = False
    assert demo.run_inpaint() is not None
    assert demo.vmap is None and "switched off" in demo.artifact_note.value


def test_inpaint_without_a_hole_asks_for_one(demo):
    assert demo.run_inpaint() is None
    assert "paint a hole" in demo.status.value


def test_large_photo_goes_through_the_working_scale(det_checkpoint):
    from skimage import data
    big = np.kron(data.astronaut(), np.ones((2, 2, 1), np.uint8))  # 1024x1024
    d = InpaintDemo(det_checkpoint, photo=big, view_max=128, device="cpu")
    d.learn.value = False
    assert d.mask.shape == (1024, 1024) and d.canvas.width == 128
    d.brush.value = 4
    drag(d, [(30, 30), (36, 32)])
    assert 0 < d.mask.mean() < 0.01
    d.with_artifacts.value = False  # the artifact map of a 1 MP photo is slow on CPU; tested above
    out = d.run_inpaint()
    assert np.array_equal(out[~d.mask], big[~d.mask])
    assert max(d.inpainter.last_scale.work) < 1024  # the networks saw the photo brought down
    assert "x down" in d.status.value and "switched off" in d.artifact_note.value


def test_upload_of_a_png(demo):
    from PIL import Image
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    f = io.BytesIO()
    Image.fromarray(photo).save(f, format="PNG")
    drag(demo, [(10, 10), (20, 10)])
    upload(demo, "mine.png", f.getvalue())
    assert np.array_equal(demo.image, photo)
    assert demo.mask.shape == (70, 90) and not demo.mask.any() and not demo.history
    assert (demo.canvas.width, demo.canvas.height) == (64, 50)
    drag(demo, [(10, 10), (30, 30)])
    out = demo.run_inpaint()
    assert out.shape == photo.shape and np.array_equal(out[~demo.mask], photo[~demo.mask])
    assert "mine_inpainted.png" in demo.download.value


def test_upload_of_a_broken_file_says_so(demo):
    before = demo.image.copy()
    upload(demo, "junk.png", b"junk!")
    assert "junk.png" in demo.status.value and "cannot read" in demo.status.value
    assert np.array_equal(demo.image, before)


def test_builtin_photos_are_offered(demo):
    demo.photo_picker.value = "coffee"
    assert demo.image.shape == (400, 600, 3) and demo.mask.shape == (400, 600)
    assert (demo.canvas.width, demo.canvas.height) == (64, 43)


def test_missing_checkpoint_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(launch, "home", lambda: tmp_path)
    monkeypatch.setattr(launch, "BUNDLED_CHECKPOINT", tmp_path / "no-bundle.pt")
    monkeypatch.delenv(launch.ENV_CHECKPOINT, raising=False)
    d = InpaintDemo(photo="chelsea", view_max=64, device="cpu")
    msg = d.model_info.value
    assert d.inpainter is None and "No model" in msg
    assert "make book" in msg and "gdn train --profile cpu --out runs/cpu/det" in msg
    assert d.train_button.layout.display != "none" and d.inpaint_button.disabled
    drag(d, [(10, 10), (20, 10)])
    assert d.run_inpaint() is None and "make book" in d.status.value
    # an explicit path that does not exist is named
    d2 = InpaintDemo(tmp_path / "nope.pt", photo="chelsea", view_max=64, device="cpu")
    assert "nope.pt" in d2.model_info.value and "does not exist" in d2.model_info.value


def test_weight_checkpoint_inpaints_without_artifact_map(tmp_path, small_photo):
    from gdn.engine.checkpoint import save_checkpoint
    from gdn.config import resolve
    from gdn.frameworks import Framework

    path = tmp_path / "weight.pt"
    cfg = resolve("smoke", {"framework": "weight", "width": "8", "res_blocks": "1"})
    save_checkpoint(path, Framework(cfg).state(), cfg, step=0)
    d = ready(InpaintDemo(path, photo=small_photo, view_max=64, device="cpu"))
    assert "no detector" in d.model_info.value
    drag(d, [(20, 20), (40, 25)])
    out = d.run_inpaint()
    assert np.array_equal(out[~d.mask], small_photo[~d.mask]) and d.vmap is None
    assert "no pixel-wise detector" in d.artifact_note.value


def test_broken_checkpoint_is_reported_not_raised(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    d = InpaintDemo(bad, photo="chelsea", view_max=64, device="cpu")
    assert d.inpainter is None and "cannot load" in d.model_info.value and "bad.pt" in d.model_info.value


def test_find_checkpoint_order(tmp_path, monkeypatch, det_checkpoint):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(launch, "home", lambda: tmp_path)
    monkeypatch.delenv(launch.ENV_CHECKPOINT, raising=False)
    bundle = tmp_path / "bundle.pt"
    monkeypatch.setattr(launch, "BUNDLED_CHECKPOINT", bundle)
    assert find_checkpoint()[0] is None
    bundle.write_bytes(b"x")
    assert find_checkpoint()[0] == bundle  # the shipped warm start is the last resort
    other = tmp_path / "runs" / "paper" / "det" / "last.pt"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"x")
    assert find_checkpoint()[0] == other
    cpu = tmp_path / "runs" / "cpu" / "det" / "last.pt"
    cpu.parent.mkdir(parents=True)
    cpu.write_bytes(b"x")
    assert find_checkpoint()[0] == cpu
    monkeypatch.setenv(launch.ENV_CHECKPOINT, str(det_checkpoint))
    assert find_checkpoint()[0] == det_checkpoint
    assert find_checkpoint("given.pt")[0] == Path("given.pt")


@pytest.mark.slow
def test_train_button_trains_with_a_progress_bar_and_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(launch, "home", lambda: tmp_path)
    monkeypatch.delenv(launch.ENV_CHECKPOINT, raising=False)
    out = tmp_path / "runs" / "smoke" / "det"
    d = InpaintDemo(photo="chelsea", view_max=64, device="cpu", train_profile="smoke", train_out=out,
                    train_overrides={"steps": "3", "width": "8", "res_blocks": "1", "builtin_train": "8",
                                     "device": "cpu"})
    seen = []
    d.train_progress.observe(lambda ch: seen.append(ch["new"]), names="value")
    d.train_button.click()
    assert (out / "last.pt").is_file()
    assert d.train_progress.max == 3 and d.train_progress.value == 3 and seen[-1] == 3 and len(set(seen)) >= 3
    assert d.inpainter is not None and not d.inpaint_button.disabled and "Model" in d.model_info.value
    assert d.train_button.layout.display == "none"
    import tqdm.auto
    assert tqdm.auto.tqdm is not None and tqdm.auto.tqdm.__name__ != "WidgetTqdm"  # the patch is undone
    # in a fresh demo the trained model is found without being named
    assert find_checkpoint()[0] == out / "last.pt"


def test_stamp_segment_is_a_capsule():
    m = np.zeros((20, 30), bool)
    box = stamp_segment(m, (5, 10), (25, 10), 3)
    assert box == (7, 14, 2, 29)  # the searched rectangle, clipped
    assert m[10, 2:29].all() and not m[10, :2].any() and not m[10, 29:].any()
    assert m[7:14, 15].all() and not m[6, 15] and not m[14, 15]
    assert stamp_segment(m, (-50, -50), (-40, -40), 3) is None
    stamp_segment(m, (15, 10), (15, 10), 0.1, value=False)  # a dot of at least one pixel
    assert not m[10, 15]


def test_notebook_has_a_parameters_cell_and_builds_the_demo():
    nb = json.loads((ROOT / "notebooks" / "demo.ipynb").read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and 'checkpoint = ""' in "".join(params[0]["source"])
    assert any("InpaintDemo(" in "".join(c["source"]) for c in cells)


def test_voila_command_and_cli_checks(tmp_path, capsys):
    cmd = launch.voila_command("notebooks/demo.ipynb", 9999)
    assert "notebooks/demo.ipynb" in cmd and "--no-browser" in cmd and "--port=9999" in cmd
    assert "--Voila.ip=127.0.0.1" in cmd
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        demo_cli.main(["--checkpoint", str(tmp_path / "nope.pt"), "--no-browser"])
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(OSError, match="in use"):
            demo_cli.main(["--port", str(s.getsockname()[1]), "--no-browser"])
