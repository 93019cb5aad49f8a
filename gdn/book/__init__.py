"""The book's machinery: what ``gdn book`` runs and what its notebooks call.

``plan`` (which notebooks run, with which parameters, after which steps), ``runner`` (what ``gdn book`` decides
and does), ``execution`` (papermill, reusing what is current), ``costs`` and ``rates`` (``gdn book --plan``'s time
and disk), ``build`` (the work directory, offline MathJax, ``jupyter-book build``), ``report`` (the one writer of
figures and tables, with parameters, commit and run time beside them), ``runs`` (the one owner of the
``runs/<profile>/<run>`` and ``figures/<profile>/<name>`` layout), ``study`` (a notebook's one setup call), and
what the chapters compute and draw: ``studies``, ``tables``, ``figures``, ``diagram`` (Fig. 2), ``damage``,
``blindspot`` (Fig. 9), ``sizes``, ``perphoto``, ``seeds``, and what they say: ``verdicts`` (one verdict table per page
and its single-seed rule, the findings), ``prose`` (sentences generated from the config and the numbers) and
``records`` (dated measurements a build cannot redo).
"""
