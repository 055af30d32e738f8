# -*- coding: utf-8 -*-
"""What one KbscanTask costs per evidence: wall time and peak RSS of each kbscan run inside the
task (`/usr/bin/time -v` wrapped around the binary the task runs), and the task's run time as
Turbinia records it (`result.run_time`, from the worker's start of run() to close()).

Not part of the test suite (the name does not match test_*.py): `test.sh --bench` runs it and
it prints a markdown table; it asserts only that the runs happened, never a time.
"""

import gzip
import os
import re
import shlex
import shutil
import statistics
import subprocess

from turbinia import evidence as turbinia_evidence

from conftest import REPO

ROUNDS = int(os.environ.get('KBSCAN_TURBINIA_BENCH_ROUNDS', '5'))


def _timed_binary(scratch, binary, log):
    """A kbscan that runs the real one under /usr/bin/time -v, appending to log."""
    path = os.path.join(scratch, 'kbscan-timed')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(
            '#!/bin/sh\n'
            f'exec /usr/bin/time -v -a -o {shlex.quote(log)} {shlex.quote(binary)} "$@"\n')
    os.chmod(path, 0o755)
    return path


def _clock(text):
    """Seconds from GNU time's h:mm:ss or m:ss.ss."""
    seconds = 0.0
    for part in text.split(':'):
        seconds = seconds * 60 + float(part)
    return seconds


def _runs(log):
    """(format, wall seconds, peak RSS KiB) for every kbscan run recorded in log."""
    with open(log, encoding='utf-8') as handle:
        text = handle.read()
    runs = []
    for block in text.split('Command being timed:')[1:]:
        format_ = re.search(r' -f (\w+) ', block).group(1)
        wall = _clock(re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)',
                                block).group(1))
        rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', block).group(1))
        runs.append((format_, wall, rss))
    return runs


def test_cost_per_evidence(run_request, scratch, kbscan_binary, monkeypatch):
    image = os.path.join(scratch, 'bench-mbr.img')
    with gzip.open(os.path.join(REPO, 'tests', 'images', 'mbr.img.gz')) as source, \
            open(image, 'wb') as target:
        shutil.copyfileobj(source, target)
    cases = [
        ('RawDisk `tests/images/mbr.img.gz` unpacked (64 MiB, 3 systems)',
         lambda: turbinia_evidence.RawDisk(source_path=image)),
        ('Directory `sample_binaries/systems/w2k-sp4-vulnerable`',
         lambda: turbinia_evidence.Directory(source_path=os.path.join(
             REPO, 'sample_binaries', 'systems', 'w2k-sp4-vulnerable'))),
    ]
    if shutil.which('ewfacquire'):
        ewf = os.path.join(scratch, 'bench-disk')
        subprocess.run(
            ['ewfacquire', '-u', '-q', '-t', ewf, '-f', 'encase6', '-c', 'none', '-b', '64',
             image], check=True, stdout=subprocess.DEVNULL)
        cases.insert(1, ('EwfDisk, the same image as E01 (ewfacquire, no compression)',
                         lambda: turbinia_evidence.EwfDisk(source_path=ewf + '.E01')))

    rows = []
    for label, make in cases:
        log = os.path.join(scratch, 'time.log')
        if os.path.exists(log):
            os.remove(log)
        monkeypatch.setenv('KBSCAN', _timed_binary(scratch, kbscan_binary, log))
        task_seconds = []
        for _ in range(ROUNDS):
            result = run_request(make()).result
            assert result.successful, result.status
            task_seconds.append(result.run_time.total_seconds())
        runs = _runs(log)
        assert len(runs) == 2 * ROUNDS
        for format_ in ('json', 'html'):
            walls = [wall for f, wall, _ in runs if f == format_]
            rsses = [rss for f, _, rss in runs if f == format_]
            rows.append(
                f'| {label} | `-f {format_}` | {statistics.median(walls):.2f} s '
                f'({min(walls):.2f}-{max(walls):.2f}) | {max(rsses) / 1024:.1f} MiB |')
        rows.append(
            f'| {label} | whole task (`run_time`) | {statistics.median(task_seconds):.2f} s '
            f'({min(task_seconds):.2f}-{max(task_seconds):.2f}) | |')

    load = os.getloadavg()
    print()
    print(f'{ROUNDS} requests per evidence; median (min-max); peak RSS is the largest of the '
          f'runs. {os.cpu_count()} cores, load average {load[0]:.1f} at the end.')
    print()
    print('| evidence | kbscan run | wall time | peak RSS |')
    print('|---|---|---|---|')
    for row in rows:
        print(row)
