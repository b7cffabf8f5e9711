"""The scheduled jobs (issue 16 item 3). Each is a plain function of a Session, the settings and
`now` (the app's clock), so tests call it directly; app/services/scheduler.py runs them on time,
once per due time across the API workers."""
