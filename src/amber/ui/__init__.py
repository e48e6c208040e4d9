"""See it: ``amber ui`` (a local dashboard over the store and the remote store) and
``amber report`` (one self-contained HTML page about an env or a lock).

A composer like the CLI: ``data`` asks ``amber.api`` the questions the CLI asks and
answers with the same JSON (``amber.api.views``); ``server`` serves that JSON and the
page (``assets/``, shipped inside the package: nothing is fetched from the internet);
``report`` writes the page with its data inlined.
"""
