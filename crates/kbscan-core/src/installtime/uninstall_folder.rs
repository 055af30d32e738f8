//! The uninstall folder the update made (`%windir%\$NTUninstallKB…$`): its creation time is
//! close to the install; its last change is context.

use super::{item, Context, Gatherer};
use crate::model::installed::{Bound, TimeEvidence, TimeField, TimeSource};
use crate::model::system::RuleRegistry;
use crate::model::Rule;
use crate::source::{self, Source};

pub(super) fn gatherer<S: Source>() -> Gatherer<S> {
    Gatherer {
        name: "uninstall folder",
        gather: gather::<S>,
    }
}

fn gather<S: Source>(
    ctx: &Context<'_, S>,
    rule: &Rule,
    _: Option<&RuleRegistry>,
    evidence: &mut Vec<TimeEvidence>,
    _: &mut Vec<String>,
) {
    let (src, Some((wnode, wshown)), Some(dir)) = (ctx.src, ctx.windir, &rule.uninstall_dir) else {
        return;
    };
    if let Some(found) = source::path_ci(src, wnode, &[dir.as_str()], true) {
        let shown = crate::registry::shown_path(wshown, &found);
        let node = &found[found.len() - 1].node;
        if let Some(nt) = src.node_times(node) {
            evidence.extend(folder_evidence(&nt, &shown, src.time_basis()));
        }
    }
}

/// The times of a folder or file (SI and, on NTFS, FN) as approximate evidence.
pub fn folder_evidence(
    nt: &source::NodeTimes,
    shown: &str,
    basis: crate::model::time::TimeBasis,
) -> Vec<TimeEvidence> {
    let mut out = Vec::new();
    let sets = [("si", Some(&nt.si)), ("fn", nt.name.as_ref())];
    for (prefix, times) in sets {
        let Some(times) = times else { continue };
        for (field, value, bound, says) in [
            (
                "created",
                &times.created,
                Bound::Approximate,
                "uninstall folder created (the update made it)",
            ),
            (
                "modified",
                &times.modified,
                Bound::Context,
                "uninstall folder last modified",
            ),
        ] {
            let Some(t) = *value else {
                continue;
            };
            // `si_`/`fn_` only where NTFS gives both; elsewhere the file system's own times.
            let field = match (nt.name.is_some(), prefix, field) {
                (false, _, "created") => TimeField::Created,
                (false, _, _) => TimeField::Modified,
                (_, "si", "created") => TimeField::SiCreated,
                (_, "si", _) => TimeField::SiModified,
                (_, _, "created") => TimeField::FnCreated,
                _ => TimeField::FnModified,
            };
            let mut e = item(
                TimeSource::UninstallFolder,
                t,
                field,
                bound,
                (None, None),
                says.to_owned(),
                shown.to_owned(),
            );
            e.note = basis.note().map(str::to_owned);
            out.push(e);
        }
    }
    out
}
