"""The background task that runs a plan (django-tasks, database backend: the worker is
``thermablate worker``, started by ``make run`` beside the web server)."""

from django_tasks import task

from thermablate.plans import runner


@task()
def run_plan(plan_id: int) -> str:
    return runner.run(plan_id)
