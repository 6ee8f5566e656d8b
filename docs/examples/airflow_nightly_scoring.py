"""An overnight batch-scoring pipeline for Apache Airflow (2.5+), run on mlq.

Every night at 02:00 it scores the day's input shards on the cluster's GPUs
and publishes a summary once every shard succeeded:

    count_shards -> submit_scoring (a job array, one task per shard)
                 -> submit_summary (a job that runs after the array)
                 -> wait_scoring / wait_summary (sensors, long-polling mlq)
                 -> publish
    cancel_on_failure (cancels whatever is still queued when a step fails)

Airflow only submits and watches: the work runs on mlq's workers, so a
restarted Airflow worker or a retried task does not score twice. Each submit
carries an idempotency key made of the DAG run's date, so a retried
``submit_*`` task gets the jobs of its first try back instead of new ones.

Setup (on the Airflow side):

- ``pip install /path/to/mlq/cli/python`` into Airflow's environment (the
  client needs nothing but the standard library);
- a connection ``mlq_default`` of type HTTP: host ``http://HOST``, port the
  scheduler's ``--http`` port, password a token from
  ``mlq admin token create airflow`` (or set MLQ_URL and MLQ_TOKEN in the
  environment of Airflow's workers);
- the input under ``/shared/scoring/<ds>/input/shard-N.csv`` and
  ``/shared/scoring/score.py`` on a file system the mlq workers see (the
  scoring script of docs/examples/batch_score.py is one: ``batch_score.py
  score DIR`` scores shard ``$MLQ_ARRAY_INDEX``).

This file is an example; it is not run in CI (the test only compiles it).
The plain script docs/examples/batch_score.py does the same steps and is run
in CI against a real scheduler.
"""

import glob
import json
import os
from datetime import timedelta

import pendulum
from airflow.decorators import dag, task
from airflow.exceptions import AirflowFailException
from airflow.sensors.base import PokeReturnValue
from airflow.utils.trigger_rule import TriggerRule

SHARED = "/shared/scoring"
SCRIPT = os.path.join(SHARED, "score.py")
PYTHON = "/usr/bin/python3"


def mlq():
    """An mlq client from the ``mlq_default`` connection (or MLQ_URL and
    MLQ_TOKEN when there is no such connection)."""
    from mlq_client import Client

    try:
        from airflow.hooks.base import BaseHook

        conn = BaseHook.get_connection("mlq_default")
        host = conn.host if "://" in (conn.host or "") else "http://%s" % conn.host
        url = "%s:%d" % (host, conn.port) if conn.port else host
        return Client(url, conn.password, timeout=30)
    except Exception:  # no connection configured: the environment decides
        return Client(timeout=30)


@dag(
    dag_id="mlq_nightly_scoring",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["mlq", "scoring"],
)
def nightly_scoring():
    @task
    def count_shards(ds=None) -> int:
        """How many input shards tonight's run has."""
        n = len(glob.glob(os.path.join(SHARED, ds, "input", "shard-*.csv")))
        if n == 0:
            raise AirflowFailException("no input shards for %s" % ds)
        return n

    @task
    def submit_scoring(shards: int, ds=None) -> str:
        """One mlq array task per shard; returns the array id."""
        folder = os.path.join(SHARED, ds)
        os.makedirs(os.path.join(folder, "output"), exist_ok=True)
        arr = mlq().submit(
            [PYTHON, SCRIPT, "score", folder],
            name="nightly-score-%s" % ds,
            array="0-%d" % (shards - 1),
            max_running=16,  # leave GPUs for the daytime queue
            cpus=4,
            mem="16G",
            gpus=1,
            time_limit="2h",
            retries=2,  # mlq reruns a task that fails or loses its node
            workdir=folder,
            pool="batch",
            idempotency_key="nightly-score-%s" % ds,
        )
        return arr.id

    @task
    def submit_summary(array_id: str, shards: int, ds=None) -> str:
        """A job that merges the parts, run by mlq only once every task of
        the array succeeded (cancelled by mlq when one did not)."""
        folder = os.path.join(SHARED, ds)
        job = mlq().submit(
            [PYTHON, SCRIPT, "summarise", folder, str(shards)],
            name="nightly-summary-%s" % ds,
            after=[array_id],
            cpus=1,
            mem="2G",
            workdir=folder,
            pool="batch",
            idempotency_key="nightly-summary-%s" % ds,
        )
        return job.id

    def _poke(job_id: str) -> PokeReturnValue:
        from mlq_client import WaitTimeout

        try:
            # A short long poll: the sensor runs in reschedule mode and
            # gives its Airflow slot back between pokes.
            status = mlq().job(job_id).wait(timeout=55)
        except WaitTimeout:
            return PokeReturnValue(is_done=False)
        ok = status.get("succeeded") if "counts" in status else status["state"] == "SUCCEEDED"
        if not ok:
            raise AirflowFailException("mlq job %s ended badly: %s" % (
                job_id, json.dumps(status.get("counts") or status.get("state"))))
        return PokeReturnValue(is_done=True, xcom_value=status)

    @task.sensor(poke_interval=60, timeout=6 * 3600, mode="reschedule")
    def wait_scoring(array_id: str) -> PokeReturnValue:
        """Done once every task of the array succeeded."""
        return _poke(array_id)

    @task.sensor(poke_interval=60, timeout=3600, mode="reschedule")
    def wait_summary(job_id: str) -> PokeReturnValue:
        """Done once the summary job succeeded."""
        return _poke(job_id)

    @task
    def publish(job_id: str, ds=None) -> dict:
        """Reads the summary the job wrote and its log line."""
        log = mlq().job(job_id).logs()
        with open(os.path.join(SHARED, ds, "summary.json")) as f:
            summary = json.load(f)
        print(log)
        return summary

    @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
    def cancel_on_failure(array_id: str, job_id: str) -> None:
        """Something failed or timed out: cancel what still waits or runs so
        tonight's leftovers do not take tomorrow's GPUs."""
        from mlq_client import MlqError

        c = mlq()
        for jid in (job_id, array_id):
            if not jid:  # its submit task is the one that failed
                continue
            try:
                c.cancel(jid)
            except MlqError as e:  # already ended, or never submitted
                print("cancel %s: %s" % (jid, e))

    shards = count_shards()
    array_id = submit_scoring(shards)
    summary_id = submit_summary(array_id, shards)
    scored = wait_scoring(array_id)
    summarised = wait_summary(summary_id)
    scored >> summarised
    published = publish(summary_id)
    summarised >> published
    [scored, summarised, published] >> cancel_on_failure(array_id, summary_id)


nightly_scoring()
