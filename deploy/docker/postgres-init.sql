-- Runs once, when the compose PostgreSQL volume is created (deploy/compose.yaml): the
-- tracker store's database beside the ticketing API's (POSTGRES_DB), owned by the same user.
CREATE DATABASE travelchat_tracker;
