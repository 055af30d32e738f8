# -*- coding: utf-8 -*-
"""kbscan as a Turbinia job: KbscanJob (job.py) creates one KbscanTask (task.py) per RawDisk,
EwfDisk or Directory evidence; the task runs the installed kbscan binary and returns its JSON
and HTML reports and a markdown summary. deploy.py adds the registration lines to an installed
Turbinia. See README.md beside this package."""

__version__ = '0.1.0'
