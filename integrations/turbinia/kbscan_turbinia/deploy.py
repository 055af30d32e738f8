# -*- coding: utf-8 -*-
"""Registers kbscan in an installed Turbinia: the three lines README.md lists, added in place.

Turbinia finds jobs and tasks through its own tree, not through plugins:
  * turbinia/jobs/__init__.py imports every job module; importing ours runs
    JobsManager.RegisterJob(KbscanJob) (server and workers);
  * turbinia/task_utils.py: TaskLoader.TASK_LIST names every task (a task missing there has
    no run-time metric and fails at setup on the worker), and TaskLoader.get_task() imports
    every task class by name to rebuild a task sent to a worker.

    python -m kbscan_turbinia.deploy            add the lines where missing (idempotent)
    python -m kbscan_turbinia.deploy --check    exit 1 when a line is missing, change nothing
    python -m kbscan_turbinia.deploy --turbinia DIR   the turbinia package folder to edit

Run it with the Python of the Turbinia installation (server and every worker), after every
upgrade of Turbinia. It fails, changing nothing, when an anchor it looks for is not found.
"""

import argparse
import importlib.util
import os
import re
import sys

MARK = '# kbscan (integrations/turbinia)'
JOBS_LINE = f'from kbscan_turbinia import job as kbscan_job  {MARK}'
TASK_NAME_LINE = f"'KbscanTask',  {MARK}"
TASK_IMPORT_LINE = f'from kbscan_turbinia.task import KbscanTask  {MARK}'


class DeployError(Exception):
    """An anchor was not found: this Turbinia's files are not laid out as expected."""


def turbinia_dir():
    """The folder of the turbinia package this Python imports, found without importing it."""
    spec = importlib.util.find_spec('turbinia')
    if spec is None or not spec.submodule_search_locations:
        raise DeployError('no turbinia package importable by this Python')
    return list(spec.submodule_search_locations)[0]


def edit_jobs_init(text):
    """turbinia/jobs/__init__.py with the import of our job module appended."""
    if JOBS_LINE in text:
        return text
    if not re.search(r'^from turbinia\.jobs import \w+', text, re.MULTILINE):
        raise DeployError('jobs/__init__.py: no "from turbinia.jobs import" line')
    return text.rstrip('\n') + '\n' + JOBS_LINE + '\n'


def edit_task_utils(text):
    """turbinia/task_utils.py with KbscanTask in TASK_LIST and imported in get_task()."""
    lines = text.split('\n')
    if TASK_NAME_LINE not in text:
        for number, line in enumerate(lines):
            match = re.match(r'^(\s*)TASK_LIST = \[\s*$', line)
            if match:
                lines.insert(number + 1, match.group(1) + '    ' + TASK_NAME_LINE)
                break
        else:
            raise DeployError('task_utils.py: no "TASK_LIST = [" line')
    if TASK_IMPORT_LINE not in text:
        start = next(
            (n for n, line in enumerate(lines) if re.match(r'^\s*def get_task\(self', line)),
            None)
        if start is None:
            raise DeployError('task_utils.py: no "def get_task(self" line')
        # The imports of get_task() end where its loop over TASK_LIST begins; the import must
        # come before that loop, which looks the class up in locals().
        for number in range(start + 1, len(lines)):
            match = re.match(r'^(\s*)for task in self\.TASK_LIST:\s*$', lines[number])
            if match:
                lines.insert(number, match.group(1) + TASK_IMPORT_LINE)
                break
            if re.match(r'^\s*def ', lines[number]):
                break
        else:
            raise DeployError('task_utils.py: get_task() has no loop over TASK_LIST')
        if TASK_IMPORT_LINE not in '\n'.join(lines):
            raise DeployError('task_utils.py: get_task() has no loop over TASK_LIST')
    return '\n'.join(lines)


EDITS = [
    (os.path.join('jobs', '__init__.py'), edit_jobs_init),
    ('task_utils.py', edit_task_utils),
]


def deploy(package_dir, check_only=False, out=sys.stdout):
    """Adds the missing lines (or, with check_only, reports them). Returns the files that
    lacked a line. Every file is edited in memory first, so nothing is written when any
    anchor is missing."""
    planned = []
    for relative, edit in EDITS:
        path = os.path.join(package_dir, relative)
        with open(path, encoding='utf-8') as handle:
            before = handle.read()
        after = edit(before)
        planned.append((path, before, after))
    lacking = [path for path, before, after in planned if before != after]
    for path, before, after in planned:
        if before == after:
            print(f'kbscan registration present: {path}', file=out)
        elif check_only:
            print(f'kbscan registration missing: {path}', file=out)
        else:
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write(after)
            print(f'kbscan registration added: {path}', file=out)
    return lacking


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m kbscan_turbinia.deploy',
        description='Register the kbscan job and task in an installed Turbinia.')
    parser.add_argument('--check', action='store_true', help='only report; exit 1 if missing')
    parser.add_argument('--turbinia', help='the turbinia package folder (default: the one '
                        'this Python imports)')
    args = parser.parse_args(argv)
    try:
        package_dir = args.turbinia or turbinia_dir()
        lacking = deploy(package_dir, check_only=args.check)
    except (DeployError, OSError) as exception:
        print(f'kbscan_turbinia.deploy: {exception}', file=sys.stderr)
        return 2
    return 1 if (args.check and lacking) else 0


if __name__ == '__main__':
    sys.exit(main())
