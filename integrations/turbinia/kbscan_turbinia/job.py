# -*- coding: utf-8 -*-
"""Turbinia job that runs kbscan on Windows disk images and mounted trees.

Importing this module registers KbscanJob with Turbinia's JobsManager, as Turbinia's own job
modules do; Turbinia imports them all from turbinia/jobs/__init__.py (see deploy.py).
"""

from turbinia.evidence import Directory
from turbinia.evidence import EwfDisk
from turbinia.evidence import RawDisk
from turbinia.evidence import ReportText
from turbinia.jobs import interface
from turbinia.jobs import manager

from kbscan_turbinia.task import KbscanTask


class KbscanJob(interface.TurbiniaJob):
    """Creates one KbscanTask for each disk image or directory.

    Partitions (DiskPartition) are left out on purpose: kbscan finds and judges every NTFS
    and FAT volume of an image itself, so scanning the partitions Turbinia enumerates from the
    same RawDisk as well would judge each system twice.
    """

    evidence_input = [Directory, EwfDisk, RawDisk]
    evidence_output = [ReportText]

    NAME = 'KbscanJob'

    def create_tasks(self, evidence):
        """Create one KbscanTask per evidence.

        Args:
            evidence: List of evidence objects to process.

        Returns:
            A list of KbscanTasks.
        """
        return [KbscanTask() for _ in evidence]


manager.JobsManager.RegisterJob(KbscanJob)
