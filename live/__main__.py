"""``python -m live``: the live round server, configured from the environment (see live.server.Settings)."""
from live.server import main

main()
