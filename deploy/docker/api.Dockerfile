# syntax=docker/dockerfile:1
# The ticketing API, agents' console and widget page: api/ on its locked environment
# (api/requirements.lock), with the complaint classifier trained at build time from
# data/complaints/ (so no pod trains at start-up).
#
#   docker build -f deploy/docker/api.Dockerfile -t travelchat/api:0.1.0 .
#
# The same image runs the retention CronJob (`python -m app.cli retention`).

ARG PYTHON=3.11

FROM python:${PYTHON}-slim-bookworm AS environment
ENV VIRTUAL_ENV=/opt/venv PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install uv==0.13.8 && uv venv --python "$(command -v python)" /opt/venv
COPY api/requirements.lock /tmp/requirements.lock
RUN uv pip sync --no-cache /tmp/requirements.lock

FROM python:${PYTHON}-slim-bookworm
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home app
COPY --from=environment /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
# The API finds the repository root three folders above app/core/ (api/app/core/config.py):
# /app holds api/, data/complaints/ and models/ as the repository does.
WORKDIR /app/api
COPY api/ /app/api/
COPY data/complaints/ /app/data/complaints/
RUN python -m scripts.train_classifier && python -c "from app.services.classifier.model import is_current, model_dir; assert is_current(model_dir())"
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["uvicorn", "app.main:app"]
CMD ["--host", "0.0.0.0", "--port", "8000"]
