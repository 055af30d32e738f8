# -*- coding: utf-8 -*-
"""KbscanJob and KbscanTask in the installed Turbinia, on real evidence with the real kbscan.

Each evidence test sends one request through Turbinia's server loop (conftest.run_request):
the job is chosen by evidence type, the task is serialized, run by task_utils.task_runner as a
worker runs it (evidence pre-processing, output manager, Redis state), its result comes back
serialized, and the request is finalized with Turbinia's own final report.
"""

import gzip
import json
import os
import shutil
import subprocess
import sys

import pytest

from turbinia import evidence as turbinia_evidence
from turbinia import state_manager
from turbinia.workers import Priority

from kbscan_turbinia import deploy
from kbscan_turbinia import task as kbscan_task

from conftest import REPO

SYSTEMS = os.path.join(REPO, 'sample_binaries', 'systems')


def _reports(result):
    """The three ReportText outputs by file name, each checked to exist and be non-empty."""
    assert all(isinstance(e, turbinia_evidence.ReportText) for e in result.evidence)
    by_name = {os.path.basename(e.source_path): e for e in result.evidence}
    assert sorted(by_name) == sorted(
        [kbscan_task.JSON_NAME, kbscan_task.HTML_NAME, kbscan_task.SUMMARY_NAME])
    for item in by_name.values():
        assert os.path.getsize(item.source_path) > 0, item.source_path
        assert item.source_path in result.saved_paths
    return by_name


def _check_run(run, root, exit_code, priority, verdicts):
    """Checks what every request must show, and returns the parsed JSON report."""
    result = run.result
    assert result.successful is True, result.status
    assert result.report_priority == priority, (result.report_priority, result.report_data)
    assert result.status.startswith(f'kbscan exit {exit_code}:'), result.status
    reports = _reports(result)
    with open(reports[kbscan_task.JSON_NAME].source_path, encoding='utf-8') as handle:
        report = json.load(handle)
    assert report['summary']['exit_code'] == exit_code
    assert [r['verdict'] for r in report['roots']] == verdicts
    examination = report['examination']
    assert examination['case'] == f'turbinia-request-{run.request_id}'
    assert examination['examiner'] == 'kbscan-test'
    assert examination['command_line'][-2:] == ['--', root]
    with open(reports[kbscan_task.HTML_NAME].source_path, encoding='utf-8') as handle:
        html = handle.read()
    assert html.lstrip().lower().startswith('<!doctype html'), html[:80]
    assert '</html>' in html
    summary = reports[kbscan_task.SUMMARY_NAME]
    assert summary.text_data == result.report_data
    with open(summary.source_path, encoding='utf-8') as handle:
        assert handle.read() == result.report_data
    for verdict, item in zip(verdicts, report['roots']):
        assert f'**{verdict}** `{item["root"]}`' in result.report_data, result.report_data

    # The state Turbinia keeps in Redis: the task as the server saw it come back.
    stored = state_manager.get_state_manager().get_task(result.task_id)
    assert stored['name'] == 'KbscanTask'
    assert stored['successful'] is True
    assert stored['report_priority'] == priority
    assert stored['report_data'] == result.report_data
    # The request was finalized: Turbinia's final report carries our report.
    assert len(run.final_tasks) == 1
    final = run.final_tasks[0].result
    assert final.successful is True, final.status
    (final_report,) = final.evidence
    with open(final_report.source_path, encoding='utf-8') as handle:
        final_text = handle.read()
    if priority <= Priority.HIGH:
        # Turbinia lists the task under its high-priority heading, with our report.
        high = final_text.index('# High Priority Tasks')
        assert high < final_text.index('## KbscanTask')
        assert f'* **Status:** {result.status}' in final_text
        assert result.report_data.strip() in final_text
    else:
        # One line under the successful tasks, without the report.
        assert '# High Priority Tasks\n* None\n' in final_text
        listed = final_text.index('# Successful Tasks')
        line = [l for l in final_text.splitlines() if l.startswith('* KbscanTask (')]
        assert len(line) == 1 and line[0].endswith(f': {result.status}'), final_text
        assert final_text.index(line[0]) > listed
        assert result.report_data.strip() not in final_text
    return report


def test_directory_vulnerable_is_high(run_request):
    root = os.path.join(SYSTEMS, 'w2k-sp4-vulnerable')
    run = run_request(turbinia_evidence.Directory(source_path=root))
    report = _check_run(run, root, 1, Priority.HIGH, ['vulnerable'])
    assert run.result.report_data.startswith('#### kbscan: 1 of 1 system(s) vulnerable')
    assert 'MS04-008' in run.result.report_data
    assert report['roots'][0]['root'] == root


def test_directory_patched_is_low(run_request):
    root = os.path.join(SYSTEMS, 'w2k-wms-fully-patched')
    run = run_request(turbinia_evidence.Directory(source_path=root))
    _check_run(run, root, 0, Priority.LOW, ['patched'])
    assert run.result.report_data.startswith('#### kbscan: no system vulnerable')


def test_directory_inconclusive_is_medium(run_request):
    # A file without a version resource: kbscan cannot tell, exit 2.
    root = os.path.join(SYSTEMS, 'odd-no-version')
    run = run_request(turbinia_evidence.Directory(source_path=root))
    _check_run(run, root, 2, Priority.MEDIUM, ['inconclusive'])
    assert 'incomplete or inconclusive' in run.result.report_data.splitlines()[0]


@pytest.fixture(scope='module')
def raw_image(scratch):
    path = os.path.join(scratch, 'mbr.img')
    with gzip.open(os.path.join(REPO, 'tests', 'images', 'mbr.img.gz')) as source, \
            open(path, 'wb') as target:
        shutil.copyfileobj(source, target)
    return path


def test_raw_disk_image(run_request, raw_image):
    run = run_request(turbinia_evidence.RawDisk(source_path=raw_image))
    report = _check_run(run, raw_image, 1, Priority.HIGH, ['vulnerable'] * 3)
    assert [r['root'] for r in report['roots']] == [
        f'{raw_image}#p1', f'{raw_image}#p5', f'{raw_image}#p6']
    assert run.result.report_data.startswith('#### kbscan: 3 of 3 system(s) vulnerable')
    # kbscan read the image file itself: Turbinia attached nothing (no loop device).
    assert report['images'][0]['path'] == raw_image


def test_ewf_disk_image(run_request, raw_image, scratch):
    if not shutil.which('ewfacquire'):
        if os.environ.get('CI'):
            pytest.fail('ewfacquire (Debian ewf-tools) is missing under CI')
        pytest.skip('SKIPPED: ewfacquire (Debian ewf-tools) not installed')
    target = os.path.join(scratch, 'disk')
    subprocess.run(
        ['ewfacquire', '-u', '-q', '-t', target, '-f', 'encase6', '-c', 'none', '-b', '64',
         raw_image], check=True, stdout=subprocess.DEVNULL)
    image = target + '.E01'
    run = run_request(turbinia_evidence.EwfDisk(source_path=image))
    report = _check_run(run, image, 1, Priority.HIGH, ['vulnerable'] * 3)
    assert report['images'][0]['container'] == 'e01'


def test_kbscan_env_overrides_config(run_request, monkeypatch, scratch, kbscan_binary):
    # $KBSCAN wins over KBSCAN_PATH: a copy of the binary under another name runs.
    copy = os.path.join(scratch, 'kbscan-copy')
    shutil.copy2(kbscan_binary, copy)
    monkeypatch.setenv('KBSCAN', copy)
    root = os.path.join(SYSTEMS, 'w2k-sp4-vulnerable')
    run = run_request(turbinia_evidence.Directory(source_path=root))
    report = _check_run(run, root, 1, Priority.HIGH, ['vulnerable'])
    assert report['examination']['command_line'][0] == copy


def test_missing_kbscan_fails_the_task(run_request, monkeypatch, scratch):
    missing = os.path.join(scratch, 'no-such-kbscan')
    monkeypatch.setenv('KBSCAN', missing)
    run = run_request(turbinia_evidence.Directory(
        source_path=os.path.join(SYSTEMS, 'w2k-sp4-vulnerable')))
    result = run.result
    assert result.successful is False
    assert f'kbscan not found or not executable at {missing}' in result.status
    assert result.evidence == []
    assert result.report_data is None


@pytest.mark.parametrize('exit_code, summary, expected', [
    (1, {'roots': 1, 'verdicts': {'vulnerable': 1}, 'errors': 0, 'exit_code': 1}, Priority.HIGH),
    (2, {'roots': 1, 'verdicts': {'inconclusive': 1}, 'errors': 0, 'exit_code': 2},
     Priority.MEDIUM),
    (0, {'roots': 1, 'verdicts': {'patched': 1}, 'errors': 0, 'exit_code': 0}, Priority.LOW),
    # A summary and an exit code that disagree: the more severe wins, either way round.
    (0, {'roots': 1, 'verdicts': {'vulnerable': 1}, 'errors': 0, 'exit_code': 1}, Priority.HIGH),
    (0, {'roots': 1, 'verdicts': {'patched': 1}, 'errors': 0, 'exit_code': 1}, Priority.HIGH),
    (1, {'roots': 1, 'verdicts': {'patched': 1}, 'errors': 0, 'exit_code': 0}, Priority.HIGH),
    (0, {'roots': 1, 'verdicts': {'patched': 1}, 'errors': 2, 'exit_code': 0}, Priority.MEDIUM),
    # Exit 2 alone (a candidate not judged, nothing else said) is enough for MEDIUM.
    (2, {'roots': 1, 'verdicts': {'patched': 1}, 'errors': 0, 'exit_code': 2}, Priority.MEDIUM),
    (2, {'roots': 1, 'verdicts': {'patched': 1}, 'errors': 0, 'exit_code': 0}, Priority.MEDIUM),
    (0, {'roots': 1, 'verdicts': {'patched': 1}, 'errors': 0, 'exit_code': 2}, Priority.MEDIUM),
    (0, {'roots': 1, 'verdicts': {'inconclusive': 1}, 'errors': 0, 'exit_code': 0},
     Priority.MEDIUM),
    (0, {'roots': 0, 'verdicts': {}, 'errors': 0, 'exit_code': 0}, Priority.MEDIUM),
    (0, {'roots': 1, 'verdicts': {'patched': 1}, 'errors': 0}, Priority.MEDIUM),
])
def test_priority_never_leans_clean(exit_code, summary, expected):
    assert kbscan_task.priority_for(exit_code, summary) == expected


def test_markdown_spans_cannot_break_out():
    assert kbscan_task.span('a`b\nc') == '`a?b?c`'
    assert kbscan_task.span('x' * 1000) == '`' + 'x' * kbscan_task.MAX_SPAN + '...`'


def _python(code):
    return subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, check=False)


def test_job_and_task_registered_in_a_fresh_interpreter():
    # What a Turbinia server or worker process sees at start-up, after deploy.py.
    code = '\n'.join([
        'from turbinia.jobs import manager',
        'from turbinia import evidence, task_utils',
        'job = manager.JobsManager.GetJobInstance("KbscanJob")',
        'print(type(job).__module__, sorted(t.__name__ for t in job.evidence_input))',
        'loader = task_utils.TaskLoader()',
        'task = loader.get_task("KbscanTask")',
        'print(loader.check_task_name("KbscanTask"), type(task).__module__)',
        'again = task_utils.task_deserialize(task.serialize())',
        'print(type(again).__name__, again.id == task.id)',
    ])
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "kbscan_turbinia.job ['Directory', 'EwfDisk', 'RawDisk']",
        'True kbscan_turbinia.task',
        'KbscanTask True',
    ]


def test_deploy_is_in_place_and_idempotent():
    done = _python('import sys; from kbscan_turbinia import deploy; sys.exit(deploy.main(["--check"]))')
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count('kbscan registration present') == 2
    package = deploy.turbinia_dir()
    for relative, edit in deploy.EDITS:
        with open(os.path.join(package, relative), encoding='utf-8') as handle:
            installed = handle.read()
        # Applying again changes nothing; removing our lines and applying gives it back.
        assert edit(installed) == installed
        pristine = '\n'.join(
            line for line in installed.split('\n') if deploy.MARK not in line)
        assert pristine != installed
        assert edit(pristine).rstrip('\n') == installed.rstrip('\n')


def test_deploy_refuses_an_unknown_layout():
    for _, edit in deploy.EDITS:
        with pytest.raises(deploy.DeployError):
            edit('"""Not Turbinia."""\n')
