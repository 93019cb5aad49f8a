"""The book's machinery: what ``gdn book`` runs and what its notebooks call.

``runner`` (plan the notebooks, run them with papermill, reuse what is current, build the Jupyter Book),
``report`` (the one writer of figures and tables, with parameters, commit and run time beside them), ``runs``
(the one owner of the ``runs/<profile>/<run>`` layout), and one module per kind of output the chapters share.
"""
