import json
import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from gdn.cli import main
from gdn.device import DeviceError
from gdn.engine.bench import format_bench, run_bench
from gdn.engine.probes import count_flops, matmul_peak
from gdn.networks import Detector, Generator


def _conv(h_out, c_in, c_out, k):
    return h_out * h_out * c_in * c_out * k * k  # MACs of a conv with an h_out x h_out output


def _deconv(h_in, c_in, c_out, k):
    return h_in * h_in * c_in * c_out * k * k  # fvcore convention: input positions x C_in x C_out x k^2


def _meta_flops(size, width=64, res_blocks=8, batch=1):
    with torch.device("meta"):
        g, d = Generator(width, res_blocks), Detector()
        image, mask = torch.empty(batch, 3, size, size), torch.empty(batch, 1, size, size)
    return count_flops(g, image, mask), count_flops(d, image)


def test_generator_and_detector_flops_match_the_hand_count():
    s, w = 256, 64
    g_macs = (_conv(s, 4, w, 7) + _conv(s // 2, w, 2 * w, 4) + _conv(s // 4, 2 * w, 4 * w, 4)
              + 16 * _conv(s // 4, 4 * w, 4 * w, 3)
              + _deconv(s // 4, 4 * w, 2 * w, 4) + _deconv(s // 2, 2 * w, w, 4) + _conv(s, w, 3, 7))
    d_macs = (_conv(s, 3, 32, 4) + _conv(s, 32, 64, 4) + _conv(s // 2, 64, 128, 4) + _conv(s // 4, 128, 256, 4)
              + _conv(s // 4, 256, 256, 4) + _deconv(s // 4, 256, 128, 4) + _deconv(s // 2, 128, 2, 4))
    assert g_macs == 48_683_286_528 and d_macs == 13_052_674_048
    g_flops, d_flops = _meta_flops(256)
    assert g_flops == 2 * g_macs == 97_366_573_056
    assert d_flops == 2 * d_macs == 26_105_348_096


def test_flops_scale_with_area_and_batch():
    g256, d256 = _meta_flops(256)
    g128, d128 = _meta_flops(128)
    assert 4 * g128 == g256 and 4 * d128 == d256
    g2, d2 = _meta_flops(128, batch=2)
    assert g2 == 2 * g128 and d2 == 2 * d128


def test_flops_agree_with_torch_flop_counter_on_real_tensors():
    torch.manual_seed(0)
    g, d = Generator(width=8, res_blocks=2), Detector()
    image, mask = torch.rand(2, 3, 48, 48), torch.zeros(2, 1, 48, 48)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        g(image, mask)
    assert count_flops(g, image, mask) == counter.get_total_flops()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        d(image)
    assert count_flops(d, image) == counter.get_total_flops()


def test_count_flops_leaves_the_model_as_it_was():
    g = Generator(width=8, res_blocks=1).train()
    g.middle.eval()
    count_flops(g, torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16))
    assert g.training and g.encoder.training and not g.middle.training
    assert all(not m._forward_hooks for m in g.modules())
    assert all(p.grad is None for p in g.parameters())


@pytest.fixture(scope="module")
def quick_result():
    return run_bench(quick=True, threads=1, progress=False)


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


def test_quick_run_has_every_measurement_positive_and_finite(quick_result):
    r = quick_result
    assert r["config"]["quick"] and r["config"]["precisions"] == ["fp32", "bf16"]
    assert r["flops_per_image"]["generator"] > 0 and r["flops_per_image"]["detector"] > 0
    assert r["flops_per_image"]["train_step"] > 3 * r["flops_per_image"]["generator"]
    for p in ("fp32", "bf16"):
        assert r["matmul_peak_flops"][p] > 0
        run = r["results"][p]
        for net in ("generator", "detector"):
            for key in ("latency_ms", "throughput_images_per_s", "throughput_batch", "achieved_flops",
                        "peak_fraction", "latency_achieved_flops"):
                assert run[net][key] > 0, (p, net, key)
            assert set(run[net]["per_batch"]) == {"1", "2"}
            assert run[net]["memory"]["batch"] == 2
        for key in ("step_ms", "images_per_s", "flops_per_image", "achieved_flops", "peak_fraction"):
            assert run["train"][key] > 0, (p, key)
        assert run["train"]["batch"] == 2
        mem = run["train"]["memory"]
        assert "cuda_max_allocated_mib" in mem or mem["process_maxrss_mib"] > 0
    assert all(math.isfinite(x) for x in _numbers(r))
    for key in ("torch", "device_name", "cpu_count", "threads", "date"):
        assert key in r["machine"]
    assert r["machine"]["threads"] == 1


def test_table_shows_latencies_beside_the_papers_gpu_numbers(quick_result):
    text = format_bench(quick_result)
    assert "18.80" in text and "13.07" in text and "paper" in text and "GPU" in text
    assert "G latency" in text and "train" in text and "fp32" in text and "bf16" in text


def test_skipped_precision_is_reported_in_the_table(quick_result):
    result = dict(quick_result, results={"fp32": quick_result["results"]["fp32"],
                                         "bf16": {"skipped": "no native bf16"}})
    text = format_bench(result)
    assert "bf16: skipped: no native bf16" in text


def test_matmul_peak_is_positive():
    assert 0 < matmul_peak("cpu", torch.float32, seconds=0.02, n_max=256) < math.inf


def test_cli_quick_writes_valid_json(tmp_path, capsys):
    out = tmp_path / "sub" / "bench.json"
    rc = main(["bench", "--quick", "--json", str(out), "--precision", "fp32", "--threads", "1", "--quiet"])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["config"]["precisions"] == ["fp32"] and data["results"]["fp32"]["generator"]["latency_ms"] > 0
    for key in ("torch", "device_name", "cpu_count", "threads", "date"):
        assert key in data["machine"]
    assert "18.80" in capsys.readouterr().out
    assert not list(out.parent.glob("*.tmp"))


def test_cuda_without_a_gpu_exits_2_with_one_clear_line(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["bench", "--device", "cuda", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "CUDA is not available" in err
    with pytest.raises(DeviceError):
        run_bench(device="cuda", quick=True, progress=False)


def test_unknown_device_exits_2(capsys):
    assert main(["bench", "--device", "banana", "--quick"]) == 2
    assert "unknown device" in capsys.readouterr().err


def test_onnx_backend_times_onnxruntime_beside_pytorch():
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    pytest.importorskip("onnxscript", reason="the onnx extra is not installed")
    r = run_bench(quick=True, threads=1, progress=False, precision="fp32", batches=(1,), backend="onnx")
    assert r["config"]["backend"] == "onnx" and r["onnxruntime"]["threads"] == 1
    for net in ("generator", "detector"):
        ort, pt = r["onnxruntime"][net], r["results"]["fp32"][net]
        assert ort["latency_ms"] > 0 and ort["throughput_images_per_s"] > 0 and ort["peak_fraction"] > 0
        assert set(ort["per_batch"]) == set(pt["per_batch"]) == {"1"}
    table = format_bench(r).splitlines()
    head = next(line for line in table if "onnxruntime fp32" in line)
    assert head.index("torch fp32") < head.index("onnxruntime fp32")  # PyTorch first, onnxruntime beside it
    g_row = next(line for line in table if line.startswith("G latency"))
    train_row = next(line for line in table if line.startswith("  train step"))
    *_, torch_ms, ort_ms, paper = g_row.split()
    assert float(torch_ms) > 0 and float(ort_ms) > 0 and paper == "18.80"
    assert train_row.split()[-1] == "-"  # onnxruntime has no training step


def test_compiled_bench_reports_compilation_apart(capsys):
    r = run_bench(quick=True, threads=1, progress=False, precision="fp32", compile=True, batches=(1,))
    fp32 = r["results"]["fp32"]
    assert r["config"]["compile"]
    for part in ("generator", "detector", "train"):
        assert fp32[part]["compile_s"] > 0
    assert fp32["generator"]["latency_ms"] > 0 and fp32["train"]["images_per_s"] > 0
    assert "compile + first calls, G (s)" in format_bench(r)


def test_cli_loader_times_the_profiles_training_loader(tmp_path, capsys):
    out = tmp_path / "loader.json"
    rc = main(["bench", "--loader", "--profile", "smoke", "--seconds", "0.3", "--json", str(out)])
    assert rc == 0 and "images/s" in capsys.readouterr().out
    r = json.loads(out.read_text())
    assert r["workers"] == 0 and r["size"] == 64 and r["images_per_s"] > 0
    assert main(["bench", "--loader", "--profile", "nope"]) == 2


def test_cudnn_benchmark_is_on_for_the_run_only_and_recorded(tmp_path, monkeypatch):
    import torch

    from gdn.engine import bench

    before, seen, real = torch.backends.cudnn.benchmark, [], bench._run_bench
    monkeypatch.setattr(bench, "_run_bench", lambda *a: seen.append(torch.backends.cudnn.benchmark) or real(*a))
    r = run_bench(quick=True, threads=1, progress=False, precision="fp32", batches=(1,), cudnn_benchmark=True)
    assert seen == [True] and torch.backends.cudnn.benchmark == before
    assert r["config"]["cudnn_benchmark"] is True and "cuDNN benchmark True" in format_bench(r)
    out = tmp_path / "b.json"
    assert main(["bench", "--quick", "--quiet", "--precision", "fp32", "--cudnn-benchmark", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["config"]["cudnn_benchmark"] is True


def test_cli_photo_times_inpaint_per_photo_with_and_without_adaptation(ckpts, tmp_path, capsys):
    out = tmp_path / "photo.json"
    rc = main(["bench", "--photo", str(ckpts["det"]), "--quick", "--adapt", "2", "--threads", "1", "--quiet",
               "--json", str(out)])
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["adapt"] == 2 and [row["side (px)"] for row in r["rows"]] == [64, 256]
    assert all(row["seconds"] > 0 and row["seconds adapted"] > 0 for row in r["rows"])
    assert 0.05 < r["rows"][1]["hole share"] < 0.3 and "down" in r["rows"][1]["generator"]
    text = capsys.readouterr().out
    assert "adapted: 2 steps of per-photo learning first" in text and text.count("\n") >= 4
    assert main(["bench", "--photo", str(ckpts["det"]), "--adapt", "-1"]) == 2
    assert "--adapt -1" in capsys.readouterr().err
    assert main(["bench", "--photo", str(tmp_path / "none.pt"), "--quick"]) == 2
