# -*- coding: utf-8 -*-
"""Turbinia task that runs kbscan on a disk image or a mounted Windows tree.

The task runs the installed kbscan twice on the path Turbinia hands it (`evidence.local_path`):
once for the JSON report and once for the HTML report. Both are returned as ReportText
evidence, with a markdown summary of every system's verdict as the task's report. The report
priority follows the verdict: a vulnerable system is HIGH, an incomplete or inconclusive scan
MEDIUM, and only a scan in which every system was judged and none is vulnerable is LOW.
"""

import json
import os
import re

from turbinia import config
from turbinia.evidence import ReportText
from turbinia.lib import text_formatter as fmt
from turbinia.workers import Priority
from turbinia.workers import TurbiniaTask

# Where the Debian package installs the binary.
DEFAULT_KBSCAN = '/usr/bin/kbscan'

# kbscan's exit codes (`kbscan scan --help`).
EXIT_CLEAN = 0  # no root is vulnerable and every candidate file was judged
EXIT_VULNERABLE = 1  # at least one root is vulnerable (wins over errors)
EXIT_INCOMPLETE = 2  # something could not be scanned or judged, and nothing is vulnerable
KBSCAN_EXIT_CODES = [EXIT_CLEAN, EXIT_VULNERABLE, EXIT_INCOMPLETE]

# The priority each exit code asks for.
EXIT_PRIORITY = {
    EXIT_VULNERABLE: Priority.HIGH,
    EXIT_INCOMPLETE: Priority.MEDIUM,
    EXIT_CLEAN: Priority.LOW,
}

# kbscan's --case and --examiner take at most 256 characters.
MAX_LABEL = 256
# Systems listed one by one in the markdown report; the rest are counted (all are in the JSON).
MAX_SYSTEMS = 100
# Reasons listed under each vulnerable or inconclusive rule.
MAX_REASONS = 3
# Longest text taken from the report into one markdown code span.
MAX_SPAN = 300

JSON_NAME = 'kbscan.json'
HTML_NAME = 'kbscan.html'
SUMMARY_NAME = 'kbscan-summary.md'


def kbscan_binary():
    """Returns the kbscan to run: $KBSCAN, else KBSCAN_PATH in the Turbinia config, else the
    Debian package's /usr/bin/kbscan. Never searched for on PATH: the examination record names
    the binary that ran, and a worker should run the one it was given."""
    path = os.environ.get('KBSCAN')
    if path:
        return path
    loaded = config.LoadConfig()
    path = getattr(loaded, 'KBSCAN_PATH', None)
    return path or DEFAULT_KBSCAN


def priority_for(exit_code, summary):
    """The most severe priority of what the exit code and the JSON summary say.

    Either one alone can raise the priority; neither can lower what the other says, so a
    summary that disagrees with the exit code never makes the report look cleaner.
    """
    priorities = [EXIT_PRIORITY.get(exit_code, Priority.MEDIUM)]
    verdicts = summary.get('verdicts') or {}
    if verdicts.get('vulnerable') or summary.get('exit_code') == EXIT_VULNERABLE:
        priorities.append(Priority.HIGH)
    if (verdicts.get('inconclusive') or summary.get('errors') or not summary.get('roots') or
            summary.get('exit_code') not in (EXIT_CLEAN, EXIT_VULNERABLE)):
        priorities.append(Priority.MEDIUM)
    # Lower numbers are more urgent in Turbinia.
    return min(priorities)


def worst_exit(codes):
    """The most severe of several kbscan exit codes: vulnerable, then incomplete, then clean."""
    rank = {EXIT_VULNERABLE: 2, EXIT_INCOMPLETE: 1, EXIT_CLEAN: 0}
    return max(codes, key=lambda code: rank[code])


_UNSAFE = re.compile(r'[`\x00-\x1f\x7f]')


def span(text):
    """Text from the report as one markdown code span: backticks and control characters
    replaced, cut at MAX_SPAN characters, so evidence cannot shape the markdown."""
    text = _UNSAFE.sub('?', str(text))
    if len(text) > MAX_SPAN:
        text = text[:MAX_SPAN] + '...'
    return fmt.code(text) if text.strip() else '``'


def _os_name(system):
    os_info = (system or {}).get('os') or {}
    parts = [os_info.get('product_name'), os_info.get('csd_version')]
    return ' '.join(part for part in parts if part)


def summary_markdown(evidence, binary, exit_code, report):
    """The task's markdown report: the overall verdict, then one entry per system."""
    summary = report['summary']
    roots = report['roots']
    verdicts = summary.get('verdicts') or {}
    count = summary.get('roots', len(roots))
    vulnerable = verdicts.get('vulnerable', 0)
    if exit_code == EXIT_VULNERABLE or vulnerable:
        heading = f'kbscan: {vulnerable} of {count} system(s) vulnerable'
    elif exit_code == EXIT_INCOMPLETE or verdicts.get('inconclusive') or summary.get('errors'):
        heading = (
            f'kbscan: no system found vulnerable, but the scan of {count} system(s) is '
            f'incomplete or inconclusive')
    else:
        heading = f'kbscan: no system vulnerable ({count} system(s) judged)'
    lines = [fmt.heading4(heading)]

    lines.append(fmt.bullet(f'Evidence: {evidence.type} {span(evidence.local_path)}'))
    executable = (report.get('examination') or {}).get('executable') or {}
    tool = report.get('tool') or {}
    lines.append(
        fmt.bullet(
            f'kbscan {span(tool.get("version", "?"))} at {span(binary)}, '
            f'sha256 {span(executable.get("sha256") or "not recorded")}, exit code {exit_code}'))
    counts = ', '.join(f'{name} {number}' for name, number in verdicts.items())
    lines.append(
        fmt.bullet(f'Systems: {counts}; errors {summary.get("errors", 0)}'))
    for image in report.get('images') or []:
        if image.get('error'):
            lines.append(
                fmt.bullet(f'Image {span(image.get("path"))}: {span(image.get("error"))}'))

    for root in roots[:MAX_SYSTEMS]:
        name = _os_name(root.get('system'))
        described = f' ({span(name)})' if name else ''
        lines.append(
            fmt.bullet(f'{fmt.bold(str(root.get("verdict")))} {span(root.get("root"))}{described}'))
        for rule in root.get('rule_verdicts') or []:
            verdict = rule.get('verdict')
            lines.append(
                fmt.bullet(
                    f'{span(rule.get("rule"))} ({span(rule.get("kb"))}): {verdict}', level=2))
            if verdict in ('vulnerable', 'inconclusive'):
                for reason in (rule.get('reasons') or [])[:MAX_REASONS]:
                    lines.append(
                        fmt.bullet(
                            f'{span(reason.get("code"))} {span(reason.get("message"))}',
                            level=3))
        for error in (root.get('errors') or [])[:MAX_REASONS]:
            lines.append(fmt.bullet(f'error: {span(error.get("message"))}', level=2))
    if len(roots) > MAX_SYSTEMS:
        lines.append(
            fmt.bullet(f'... and {len(roots) - MAX_SYSTEMS} more system(s), see {JSON_NAME}'))
    return '\n'.join(lines) + '\n'


class KbscanTask(TurbiniaTask):
    """Runs kbscan on a RawDisk or EwfDisk image file, or on a Directory (a mounted tree).

    REQUIRED_STATES is empty: kbscan reads image files and their partition tables itself, so
    Turbinia does not need to attach (losetup) or mount anything. The path given to kbscan is
    `evidence.local_path`, whatever the pre-processors left there.
    """

    REQUIRED_STATES = []

    def run(self, evidence, result):
        """Runs kbscan for the JSON and the HTML report and summarises the JSON one.

        Args:
            evidence (Evidence): RawDisk, EwfDisk or Directory.
            result (TurbiniaTaskResult): The object to place task results into.

        Returns:
            TurbiniaTaskResult object.
        """
        binary = kbscan_binary()
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            result.close(
                self, success=False,
                status=f'kbscan not found or not executable at {binary} (set KBSCAN or '
                f'KBSCAN_PATH in the Turbinia config)')
            return result
        root = evidence.local_path
        if not root:
            result.close(self, success=False, status=f'Evidence {evidence.name} has no path')
            return result

        labels = []
        if self.request_id:
            labels += ['--case', f'turbinia-request-{self.request_id}'[:MAX_LABEL]]
        if self.requester and self.requester != 'user_unspecified':
            labels += ['--examiner', str(self.requester)[:MAX_LABEL]]

        json_path = os.path.join(self.output_dir, JSON_NAME)
        html_path = os.path.join(self.output_dir, HTML_NAME)
        exit_codes = []
        for format_, path in (('json', json_path), ('html', html_path)):
            # `--` so that a path starting with '-' is never read as an option.
            cmd = [binary, 'scan', '-f', format_, '-o', path] + labels + ['--', root]
            result.log(f'Running kbscan as [{cmd!s}]')
            ret, result = self.execute(cmd, result, success_codes=KBSCAN_EXIT_CODES)
            if result.closed:
                # execute() closes the result itself when the job's timeout is reached.
                return result
            if ret not in KBSCAN_EXIT_CODES:
                result.close(
                    self, success=False,
                    status=f'kbscan ({format_} report) ended with status {ret}, no verdict')
                return result
            exit_codes.append(ret)
        exit_code = worst_exit(exit_codes)
        if len(set(exit_codes)) > 1:
            result.log(
                f'kbscan exit codes differ between the JSON and HTML runs {exit_codes}; '
                f'taking the most severe, {exit_code}')

        try:
            with open(json_path, encoding='utf-8') as handle:
                report = json.load(handle)
            summary = report['summary']
            if not isinstance(summary, dict) or not isinstance(report['roots'], list):
                raise TypeError('summary is not an object or roots is not a list')
        except (OSError, ValueError, KeyError, TypeError) as exception:
            result.close(
                self, success=False,
                status=f'kbscan exited {exit_code} but its JSON report is unreadable: '
                f'{exception}')
            return result
        if not (os.path.isfile(html_path) and os.path.getsize(html_path) > 0):
            result.close(
                self, success=False,
                status=f'kbscan exited {exit_code} but wrote no HTML report')
            return result
        if summary.get('exit_code') != exit_code:
            result.log(
                f'kbscan exited {exit_code} but its JSON summary says exit_code '
                f'{summary.get("exit_code")!r}; the priority takes the more severe')

        markdown = summary_markdown(evidence, binary, exit_code, report)
        summary_path = os.path.join(self.output_dir, SUMMARY_NAME)
        with open(summary_path, 'w', encoding='utf-8') as handle:
            handle.write(markdown)

        result.report_data = markdown
        result.report_priority = priority_for(exit_code, summary)
        result.add_evidence(
            ReportText(source_path=summary_path, text_data=markdown), evidence.config)
        result.add_evidence(ReportText(source_path=json_path), evidence.config)
        result.add_evidence(ReportText(source_path=html_path), evidence.config)

        verdicts = summary.get('verdicts') or {}
        counts = ', '.join(f'{number} {name}' for name, number in verdicts.items() if number)
        result.close(
            self, success=True,
            status=f'kbscan exit {exit_code}: {summary.get("roots", 0)} system(s): '
            f'{counts or "none judged"}; errors {summary.get("errors", 0)}')
        return result
