"""The command line (``python -m router COMMAND``): one module per command family.

``check.py`` (``check``, ``explain``), ``compare.py`` (``compare-policies``),
``staff.py`` (``staff``); the simulator's and durable mode's commands live with
them (``router/sim/cli.py``, ``router/durable/serve.py``). The dispatcher is
``router/__main__.py``.
"""
