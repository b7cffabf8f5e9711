# syntax=docker/dockerfile:1
# The action server: actions/ on the assistant's locked environment (requirements/bot.lock:
# the same lock as the Rasa server, so rasa-sdk and every helper are the tested versions;
# the image is therefore as large as the bot's, TensorFlow included, see docs/deploy.md).
#
#   docker build -f deploy/docker/actions.Dockerfile -t travelchat/actions:0.1.0 .

ARG PYTHON=3.10

FROM python:${PYTHON}-slim-bookworm AS environment
ENV VIRTUAL_ENV=/opt/venv PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install uv==0.13.8 && uv venv --python "$(command -v python)" /opt/venv
COPY requirements/bot.lock /tmp/bot.lock
RUN uv pip sync --no-cache /tmp/bot.lock

FROM python:${PYTHON}-slim-bookworm
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home app
COPY --from=environment /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
WORKDIR /app
COPY servicekit.py ./
COPY actions/ actions/
# The refund schedule the actions compute deductions from (actions/utils/refund.py).
COPY data/policies/ data/policies/
USER 10001:10001
EXPOSE 5055
ENTRYPOINT ["python", "-m", "actions.server"]
CMD ["--port", "5055", "--actions", "actions"]
