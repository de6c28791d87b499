"""Celery worker: tasks take ids, load rows, call model_server, write results back to SQL."""
