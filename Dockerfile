# One image for every service of docker-compose.yml: web (gunicorn), Celery workers, beat.
# The pinned torch of requirements.txt is, on PyPI for Linux x86_64, the CUDA build, so the
# same image drives a GPU worker (with the NVIDIA container toolkit) and runs on CPUs elsewhere.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# An unprivileged user; /data (DATA_DIR: model versions, uploads) and the Hugging Face cache
# are volumes owned by it.
RUN useradd --create-home --uid 1000 relay \
    && mkdir -p /data /home/relay/.cache/huggingface \
    && chown -R relay:relay /data /home/relay/.cache
COPY --chown=relay:relay . .
USER relay

EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
