"""The live round server: one asyncio process that holds every story page's event stream.

Story pages open ``GET /api/v1/stories/<id>/live`` (nginx sends that path here, unbuffered)
and get server-sent events, each one the story's whole round as everyone sees it: a page
fetches nothing when the phase changes. The web and worker processes announce every committed
change on Redis pub/sub (app/rounds/events.py); this process reads the round once per story
and change, at most every LIVE_BATCH_SECONDS (each vote is a change), from the web's own
``GET /api/v1/stories/<id>/round``, and hands it to every page of that story. It imports
nothing of the site and holds no database connection.
"""
