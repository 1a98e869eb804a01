-- Runs once, when the postgres volume is first created: one database per server.
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
