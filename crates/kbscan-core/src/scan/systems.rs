//! One volume, several Windows installations (issue 10 case 4): the findings, errors and
//! notices of one walk are attributed to the Windows folder they are under, each judged as
//! its own system with its own hives; what lies outside every Windows folder stays with the
//! volume, judged on file evidence alone. See docs/judgement.md, section 5a.

use super::Scanner;
use crate::model::{
    Finding, PathMessage, Reason, ReasonCode, RootReport, SystemEvidence, WalkStats,
};
use crate::registry;
use crate::source::Source;

impl Scanner<'_> {
    /// A volume with several Windows folders holding hives (issue 10 case 4): each Windows
    /// folder is judged as its own system (`NAME#WINNT`) with its own hives and the files
    /// under it; the files outside every Windows folder stay with the volume's own entry
    /// (`NAME`), judged on file evidence alone. Errors and notices go with the path they are
    /// about; one about the root itself goes to every entry.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn split<S: Source>(
        &self,
        src: &S,
        name: String,
        windirs: Vec<registry::Windir<S::Node>>,
        findings: Vec<Finding>,
        errors: Vec<PathMessage>,
        notices: Vec<PathMessage>,
        (stats, unfollowed): (WalkStats, Vec<String>),
    ) -> Vec<RootReport> {
        let dirs: Vec<String> = windirs.iter().map(|w| w.1.clone()).collect();
        // The entry a path belongs to: 0 the volume, 1.. the Windows folders. The root itself
        // as a Windows folder (`.`) takes every path no other Windows folder does.
        let dot = dirs.iter().position(|d| d == ".").map(|i| i + 1);
        let owner = |path: &str| -> usize {
            let first = path.split('/').next().unwrap_or_default();
            dirs.iter()
                .position(|d| d != "." && d == first)
                .map(|i| i + 1)
                .or(dot)
                .unwrap_or(0)
        };
        let n = dirs.len() + 1;
        let mut parts: Vec<(Vec<Finding>, Vec<PathMessage>, Vec<PathMessage>)> =
            (0..n).map(|_| Default::default()).collect();
        for f in findings {
            parts[owner(&f.path)].0.push(f);
        }
        // The links on an install path the walk did not enter go with the entry they are in.
        let mut unread: Vec<Vec<String>> = vec![Vec::new(); n];
        for u in unfollowed {
            unread[owner(&u)].push(u);
        }
        let mut unread = unread.into_iter();
        for (list, pick) in [(errors, 1usize), (notices, 2)] {
            for m in list {
                let targets: Vec<usize> = if m.path.is_empty() {
                    (0..n).collect()
                } else {
                    vec![owner(&m.path)]
                };
                for t in targets {
                    let bucket = if pick == 1 {
                        &mut parts[t].1
                    } else {
                        &mut parts[t].2
                    };
                    bucket.push(m.clone());
                }
            }
        }
        let systems: Vec<String> = dirs.iter().map(|d| format!("{name}#{d}")).collect();
        let many = Reason::new(
            ReasonCode::MultipleWindowsInstallations,
            format!(
                "{} Windows folders with hives on this volume ({}): each is judged as its own system ({}); copies outside every Windows folder are judged with the volume ({name}) on file evidence alone",
                dirs.len(),
                dirs.join(", "),
                systems.join(", ")
            ),
        );
        let mut windirs = windirs.into_iter();
        let mut out = Vec::with_capacity(n);
        for (i, (findings, errors, notices)) in parts.into_iter().enumerate() {
            let unfollowed = unread.next().unwrap_or_default();
            let sub_stats = WalkStats {
                entries: stats.entries,
                candidates: findings
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<std::collections::BTreeSet<_>>()
                    .len() as u64,
                errors: errors.len() as u64,
            };
            let mut root = if i == 0 {
                let live = findings.iter().filter(|f| f.is_live()).count();
                let mut root = self.finish(
                    name.clone(),
                    findings,
                    errors,
                    notices,
                    (stats, unfollowed),
                    || {
                    SystemEvidence {
                        notes: vec![format!(
                            "no Windows folder's hives apply to the copies outside {}: they are judged on file evidence alone",
                            dirs.join(" and ")
                        )],
                        ..SystemEvidence::default()
                    }
                });
                if live > 0 {
                    root.reasons.push(Reason::new(
                        ReasonCode::OutsideWindowsFolders,
                        format!(
                            "{live} live {} outside every Windows folder ({}): either installation could start {}, so no installation's registry (applicability, update records) is applied; judged on file evidence alone",
                            if live == 1 { "copy" } else { "copies" },
                            dirs.join(", "),
                            if live == 1 { "it" } else { "them" }
                        ),
                    ));
                }
                root
            } else {
                let w = windirs.next();
                let mut root = self.finish(
                    systems[i - 1].clone(),
                    findings,
                    errors,
                    notices,
                    (sub_stats, unfollowed),
                    || self.system_evidence(src, w),
                );
                root.parent_root = Some(name.clone());
                root
            };
            root.reasons.push(many.clone());
            out.push(root);
        }
        out
    }
}
