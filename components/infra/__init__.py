"""Infrastructure: the local development stack (`stack`: PostgreSQL, the MLflow and Prefect servers, a
Prefect worker, as processes on 127.0.0.1) and the process groups it runs (`processes`, on psutil).

Servers are started as subprocesses, never imported: nothing here imports Prefect, MLflow or TensorFlow.
"""
