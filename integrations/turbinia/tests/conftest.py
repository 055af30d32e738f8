# -*- coding: utf-8 -*-
"""Test setup: a real redis-server on a free loopback port, a Turbinia config pointing at it
and at temporary folders, and a task manager that runs Turbinia's own server loop with the
Celery queue replaced by a direct call of task_utils.task_runner (the function a Celery worker
runs), through the same JSON round trip as Celery's transport.

Everything is set up in pytest_configure, before any test module imports turbinia: Turbinia
reads its config when its modules are imported.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))

_STATE = {}


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _wait_for_redis(port, process, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'redis-server exited with status {process.returncode}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as sock:
                sock.sendall(b'PING\r\n')
                if sock.recv(64).startswith(b'+PONG'):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f'redis-server did not answer on 127.0.0.1:{port} in {seconds} s')


CONFIG = '''\
"""Turbinia config for the kbscan task tests: the template's values, then ours."""
# pylint: disable=wildcard-import,unused-wildcard-import
from turbinia.config.turbinia_config_tmpl import *

STATE = {state!r}
OUTPUT_DIR = STATE + '/output'
TMP_DIR = STATE + '/tmp'
LOG_DIR = STATE + '/log'
LOCK_FILE = TMP_DIR + '/turbinia-worker.lock'
TMP_RESOURCE_DIR = STATE + '/lock'
RESOURCE_FILE = TMP_RESOURCE_DIR + '/turbinia-state.json'
RESOURCE_FILE_LOCK = RESOURCE_FILE + '.lock'
SCALEDOWN_WORKER_FILE = TMP_DIR + '/turbinia-to-scaledown.lock'
MOUNT_DIR_PREFIX = STATE + '/mnt'
API_SERVER_ADDRESS = '127.0.0.1'
API_EVIDENCE_UPLOAD_DIR = STATE + '/upload'
PROMETHEUS_ENABLED = False
PROMETHEUS_ADDR = '127.0.0.1'
REDIS_HOST = '127.0.0.1'
REDIS_PORT = '{port}'
REDIS_DB = '0'
CELERY_BROKER = 'redis://127.0.0.1:{port}'
CELERY_BACKEND = 'redis://127.0.0.1:{port}'
KOMBU_BROKER = CELERY_BROKER
DISABLED_JOBS = []
# What a worker's config gets for kbscan (README.md).
DEPENDENCIES = [{{
    'job': 'KbscanJob',
    'programs': ['kbscan'],
    'docker_image': None,
    'timeout': 600
}}]
KBSCAN_PATH = {kbscan!r}
'''


def pytest_configure(config):
    binary = os.environ.get('KBSCAN_TEST_BINARY')
    if not binary:
        raise pytest.UsageError('KBSCAN_TEST_BINARY must name the kbscan to test (test.sh sets it)')
    state = tempfile.mkdtemp(prefix='kbscan-turbinia-')
    for name in ('output', 'tmp', 'log', 'lock', 'mnt', 'upload', 'redis', 'config'):
        os.makedirs(os.path.join(state, name))
    port = _free_port()
    redis = subprocess.Popen(
        ['redis-server', '--bind', '127.0.0.1', '--port', str(port), '--save', '',
         '--appendonly', 'no', '--dir', os.path.join(state, 'redis'), '--protected-mode',
         'yes'],
        stdout=open(os.path.join(state, 'log', 'redis.log'), 'wb'), stderr=subprocess.STDOUT)
    _STATE.update(state=state, redis=redis, port=port, binary=os.path.abspath(binary))
    _wait_for_redis(port, redis)
    with open(os.path.join(state, 'config', 'turbinia.conf'), 'w', encoding='utf-8') as handle:
        handle.write(CONFIG.format(state=state, port=port, kbscan=os.path.abspath(binary)))
    os.environ['TURBINIA_CONFIG_PATH'] = os.path.join(state, 'config')
    # The binary comes from the config (KBSCAN_PATH); $KBSCAN is tested on its own.
    os.environ.pop('KBSCAN', None)
    print(f'redis-server pid {redis.pid} on 127.0.0.1:{port}; Turbinia state in {state}')


def pytest_unconfigure(config):
    redis = _STATE.get('redis')
    if redis is not None:
        redis.terminate()
        try:
            redis.wait(timeout=10)
        except subprocess.TimeoutExpired:
            redis.kill()
            redis.wait()
    if _STATE.get('state') and not os.environ.get('KBSCAN_TURBINIA_KEEP'):
        shutil.rmtree(_STATE['state'], ignore_errors=True)


@pytest.fixture(scope='session')
def redis_port():
    return _STATE['port']


@pytest.fixture(scope='session')
def kbscan_binary():
    return _STATE['binary']


@pytest.fixture(scope='session')
def scratch():
    """A folder for evidence built during the tests (images), removed at the end."""
    path = os.path.join(_STATE['state'], 'evidence')
    os.makedirs(path, exist_ok=True)
    return path


class RequestRun:
    """What one request produced: the kbscan task's result and the final request report."""

    def __init__(self, request_id, kbscan_tasks, final_tasks):
        self.request_id = request_id
        self.kbscan_tasks = kbscan_tasks
        self.final_tasks = final_tasks

    @property
    def result(self):
        assert len(self.kbscan_tasks) == 1, [t.name for t in self.kbscan_tasks]
        return self.kbscan_tasks[0].result


def _inline_task_manager():
    from turbinia import task_manager
    from turbinia import task_utils
    from turbinia import workers

    class InlineTaskManager(task_manager.BaseTaskManager):
        """Turbinia's BaseTaskManager (the server loop: jobs chosen by evidence type, tasks
        written to Redis, results processed, the request finalized) with the Celery queue
        replaced by a list that process_tasks() runs through task_utils.task_runner."""

        def __init__(self):
            super().__init__()
            self.incoming = []
            self.queue = []
            self.completed = []

        def _backend_setup(self, *args, **kwargs):
            pass

        def get_evidence(self):
            evidence, self.incoming = self.incoming, []
            return evidence

        def enqueue_task(self, task, evidence_, timeout):
            self.queue.append((task, evidence_))

        def process_tasks(self):
            done = []
            while self.queue:
                task, evidence_ = self.queue.pop(0)
                # Celery sends both as JSON and returns the serialized result as JSON.
                sent = json.loads(json.dumps([task.serialize(), evidence_.serialize()]))
                returned = json.loads(json.dumps(task_utils.task_runner(*sent)))
                task.result = workers.TurbiniaTaskResult.deserialize(returned)
                done.append(task)
            self.completed.extend(done)
            return done

    return InlineTaskManager


@pytest.fixture(scope='session')
def run_request():
    """Runs one Turbinia request for one evidence object, with only KbscanJob allowed, through
    the server loop until the request is finalized; returns a RequestRun."""
    from turbinia import state_manager
    from turbinia.lib import recipe_helpers
    from turbinia.message import TurbiniaRequest

    manager_class = _inline_task_manager()

    def run(evidence, requester='kbscan-test'):
        recipe = recipe_helpers.load_recipe_from_file(None)
        recipe['globals']['jobs_allowlist'] = ['KbscanJob']
        request = TurbiniaRequest(
            request_id=uuid.uuid4().hex, requester=requester, recipe=recipe,
            evidence=[evidence])
        state_manager.get_state_manager().write_request(request.to_json(json_values=True))
        evidence.request_id = request.request_id
        evidence.config = request.recipe
        evidence.config['globals']['requester'] = requester
        evidence.config['globals']['group_id'] = request.group_id
        manager = manager_class()
        manager.setup(jobs_allowlist=['KbscanJob'])
        manager.incoming.append(evidence)
        for _ in range(4):
            manager.run(under_test=True)
            if not manager.queue:
                break
        assert not manager.queue, 'tasks still queued after four server loops'
        kbscan = [t for t in manager.completed if t.name == 'KbscanTask']
        final = [t for t in manager.completed if t.name == 'FinalizeRequestTask']
        return RequestRun(request.request_id, kbscan, final)

    return run
