import os

from celery import Celery
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutorial.settings")

app = Celery("tutorial")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# With Celery 5.7 and kombu 5.7, a worker that loses Redis (a restart) while it holds unacknowledged tasks
# exits for good ("Unrecoverable error: AttributeError: 'NoneType' object has no attribute 'hostname'"): the
# consumer collects the broken connection, then closing it tries to put those tasks back through a client that
# collection has just taken away. They cannot be put back on a Redis that has gone anyway, and the upkeep sends
# their submissions again (sandbox/tickets.py), so that one failure is skipped and the worker reconnects.
_restore_unacked = kombu_redis.QoS.restore_unacked


def restore_unacked_unless_the_connection_is_gone(self, client=None):
    try:
        return _restore_unacked(self, client)
    except AttributeError:
        self._delivered.clear()
        return None


kombu_redis.QoS.restore_unacked = restore_unacked_unless_the_connection_is_gone
