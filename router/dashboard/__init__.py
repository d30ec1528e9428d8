"""The live operator page: ``router dashboard SCENARIO`` and the example service's page.

Plain HTML/JS/CSS shipped in ``static/`` (no build step, no CDN), served by
aiohttp (``pip install 'inquiry-router[dashboard]'``) with server-sent events.
``state.py`` builds the page's JSON, ``server.py`` serves it, ``replay.py`` replays
a scenario in accelerated virtual time, ``live.py`` follows a running adapter.
"""
