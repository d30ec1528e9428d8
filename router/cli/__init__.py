"""The command line (``python -m router COMMAND``): one module per command family.

``check.py`` (``check``, ``explain``), ``compare.py`` (``compare-policies``),
``staff.py`` (``staff``), ``dashboard.py`` and ``serve.py`` (their extras are
imported when they run, so ``--help`` works without them: ``extras.py``); the
simulator's commands live with it (``router/sim/cli.py``). The dispatcher is
``router/__main__.py``.
"""
