//! What the registry and the Windows folder say about one system, besides its files.

use serde::Serialize;

use super::file::Pairs;

/// Where a hive came from and how it was read.
#[derive(Debug, Clone, Serialize)]
pub struct HiveInfo {
    /// Relative to the root (found) or as given (`--software-hive`).
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    /// `found` under the root, or `argument`.
    pub origin: &'static str,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    /// `regf` format version, e.g. `1.3`.
    pub format_version: Option<String>,
    /// False when the header failed validation (unclean shutdown) and the hive was read anyway.
    pub validated: bool,
    /// Why validation failed, when it did.
    pub validation_error: Option<String>,
    /// Why the hive could not be used, if so.
    pub error: Option<String>,
}

/// What Windows this is.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OsFacts {
    pub product_name: Option<String>,
    /// NT version: `4.0` (NT 4), `5.0` (2000), `5.1` (XP), `5.2` (Server 2003)…
    pub current_version: Option<String>,
    pub build: Option<String>,
    /// Service pack, e.g. `Service Pack 4`.
    pub csd_version: Option<String>,
    /// `WinNT` (workstation), `ServerNT` (server), `LanmanNT` (domain controller).
    pub product_type: Option<String>,
    /// The control set `Select\Current` names, e.g. `ControlSet001`.
    pub control_set: Option<String>,
    /// Values present with a type other than the documented one (`CurrentVersion` as
    /// `REG_BINARY`…): not used as facts, listed here (issue 10 case 5). Absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wrong_type: Vec<WrongTypeValue>,
}

/// A registry value kbscan did not use because its type is not the documented one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrongTypeValue {
    /// Hive and value path: `SOFTWARE\Microsoft\Windows NT\CurrentVersion\CurrentVersion`.
    pub value: String,
    /// The documented type: `REG_SZ`, `REG_DWORD`.
    pub expected: &'static str,
    /// The type found: `REG_BINARY`, `REG_DWORD`, or `type 0x…` for an unknown one.
    pub found: String,
    /// The data as text (numbers in decimal, other data as its type and size).
    pub data: String,
}

impl OsFacts {
    /// `Microsoft Windows 2000 (NT 5.0, Service Pack 4)` for messages.
    pub fn label(&self) -> String {
        let mut s = self
            .product_name
            .clone()
            .unwrap_or_else(|| "Windows".to_owned());
        if let Some(v) = &self.current_version {
            s.push_str(&format!(" (NT {v}"));
            if let Some(sp) = &self.csd_version {
                s.push_str(&format!(", {sp}"));
            }
            s.push(')');
        }
        s
    }
}

/// A registry key recording an update as installed.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateRecord {
    /// Key path inside the SOFTWARE hive (`Microsoft\Updates\…\KB832359`).
    pub key: String,
    /// The key's string and number values, as text.
    pub values: Pairs,
    /// Files the update listed (`FileList` subkeys), each as its values.
    pub file_list: Vec<Pairs>,
}

/// Why kbscan takes a service as one that runs a rule's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMatch {
    /// Its key name is the rule file's sourced `service` (`nsunicast`).
    ServiceName,
    /// Its `ImagePath` names a file of the rule file's name (`…\nscm.exe`), whatever the
    /// service is called: the file names are what the bulletins give.
    ImageName,
}

impl ServiceMatch {
    /// How the printers say it.
    pub fn as_text(self) -> &'static str {
        match self {
            ServiceMatch::ServiceName => "by its service name",
            ServiceMatch::ImageName => "by its image name",
        }
    }
}

/// A service's `Start` value (learn.microsoft.com, "CurrentControlSet\Services Subkey Entries":
/// 0 boot, 1 system, 2 automatic, 3 manual, 4 disabled). Typed, so that the judgement asks
/// `is_disabled` instead of comparing numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceStart {
    Boot,
    System,
    Automatic,
    Manual,
    Disabled,
    /// A value Windows does not define, kept as read.
    Other(u32),
}

impl ServiceStart {
    pub fn from_value(v: u32) -> Self {
        match v {
            0 => ServiceStart::Boot,
            1 => ServiceStart::System,
            2 => ServiceStart::Automatic,
            3 => ServiceStart::Manual,
            4 => ServiceStart::Disabled,
            other => ServiceStart::Other(other),
        }
    }
    pub fn value(self) -> u32 {
        match self {
            ServiceStart::Boot => 0,
            ServiceStart::System => 1,
            ServiceStart::Automatic => 2,
            ServiceStart::Manual => 3,
            ServiceStart::Disabled => 4,
            ServiceStart::Other(v) => v,
        }
    }
    /// `boot`, `system`, `automatic`, `manual`, `disabled`; `None` for another value.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            ServiceStart::Boot => "boot",
            ServiceStart::System => "system",
            ServiceStart::Automatic => "automatic",
            ServiceStart::Manual => "manual",
            ServiceStart::Disabled => "disabled",
            ServiceStart::Other(_) => return None,
        })
    }
}

/// A service's start setting as the report shows it: `start` (the value as read, or null when
/// the key has none of the right type) and `start_type` (its name).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartFacts(pub Option<ServiceStart>);

impl StartFacts {
    /// A service that does not run (`Start` = 4). A missing value is not "disabled".
    pub fn is_disabled(self) -> bool {
        self.0 == Some(ServiceStart::Disabled)
    }
    pub fn name(self) -> Option<&'static str> {
        self.0.and_then(ServiceStart::name)
    }
}

impl Serialize for StartFacts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("start", &self.0.map(ServiceStart::value))?;
        m.serialize_entry("start_type", &self.name())?;
        m.end()
    }
}

/// A service that runs a rule file, as the SYSTEM hive configures it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceFacts {
    /// The service's key name under `Services`.
    pub name: String,
    /// The rule file the service runs (`Nscm.exe`).
    pub file: String,
    /// Why this service is taken as running `file`.
    pub matched_by: ServiceMatch,
    pub image_path: Option<String>,
    /// `Start`: reported as `start` (the value read) and `start_type` (its name).
    #[serde(flatten)]
    pub start: StartFacts,
    /// `image_path` resolved to a path relative to the root, when it could be.
    pub resolved_path: Option<String>,
    /// Why `image_path` could not be resolved (issue 10 case 9); shown as a note and a reason.
    #[serde(skip)]
    pub unresolved: Option<String>,
    /// The entries under the root that `resolved_path` names, as the file system spells them
    /// (8.3 aliases followed; several when names differ only in case). Internal: the finding
    /// the service starts carries `service_image`.
    #[serde(skip)]
    pub on_disk: Vec<String>,
}

/// Registry facts for one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRegistry {
    pub rule: String,
    pub kb: String,
    pub update_records: Vec<UpdateRecord>,
    pub services: Vec<ServiceFacts>,
    /// `%Windir%\<uninstall_dir>` relative to the root, when that folder exists.
    pub uninstall_dir: Option<String>,
    /// issue 14: when the update was installed, with every time read (absent when nothing
    /// was found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed: Option<super::installed::Installed>,
}

/// Everything known about the system under one root besides its files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SystemEvidence {
    /// The Windows folder found under the root (`WINNT`, `Windows`), relative to it.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub windir: Option<String>,
    pub software_hive: Option<HiveInfo>,
    pub system_hive: Option<HiveInfo>,
    pub os: OsFacts,
    pub rules: Vec<RuleRegistry>,
    pub notes: Vec<String>,
    /// issue 14: SYSTEM `Control\TimeZoneInformation` (absent when not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<super::installed::TimeZoneFacts>,
    /// The update audit of this system (`kbscan updates`; absent from a scan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updates: Option<super::updates::SystemAudit>,
    /// SYSTEM `<ControlSet>\Control\Session Manager\PendingFileRenameOperations`: the
    /// renames and deletions waiting for the next boot (absent when the value is not there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_renames: Option<PendingRenames>,
}

/// The renames and deletions `MoveFileEx(…, MOVEFILE_DELAY_UNTIL_REBOOT)` registered, which
/// the Session Manager carries out at the next boot (docs/evidence.md, "Updates waiting for a
/// reboot"). Their presence in an image says no boot has processed them since.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PendingRenames {
    /// The value's path in the SYSTEM hive (`ControlSet001\Control\Session Manager\…`).
    pub value: String,
    /// The Session Manager key's last-write time: the last operation was registered no
    /// later than this (any value of the key written later moves it forward).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_last_written: Option<crate::time::Timestamp>,
    pub operations: Vec<PendingRename>,
}

/// One source/target pair of `PendingFileRenameOperations`, in the order recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRename {
    /// The pair's position in the value, from 1.
    pub pair: usize,
    /// The source as recorded (escaped).
    #[serde(serialize_with = "crate::escape::name")]
    pub source: String,
    /// The target as recorded (escaped); absent for a deletion (an empty target).
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub target: Option<String>,
    /// The recorded target starts with `!` (taken off before the path is placed).
    pub replace_prefix: bool,
    /// The source placed under the root, as the file system spells it, when it is there.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub source_path: Option<String>,
    /// The target placed under the root (the file it replaces), when it is there.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub target_path: Option<String>,
    /// Why a path could not be placed under the root (another drive, a network path…):
    /// nothing outside the root is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
    /// The staged file's version, read when the target is a file a rule names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staged: Option<StagedFile>,
}

/// A staged file (the source of a pending replacement of a rule's file), read with the PE
/// reader: the version the file will have after the next boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StagedFile {
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    pub version: Option<crate::version::FileVersion>,
    /// Why no version: not a PE, no version resource, unreadable, too large…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PendingRename {
    /// Whether this operation replaces the file at `path` (a rename onto it).
    pub fn replaces(&self, path: &str) -> bool {
        self.target.is_some() && self.target_path.as_deref() == Some(path)
    }
    /// Whether this operation moves or deletes the file at `path` (it is the source).
    pub fn removes(&self, path: &str) -> bool {
        self.source_path.as_deref() == Some(path)
    }
}

impl SystemEvidence {
    /// True when the SOFTWARE hive was read, so an absent update record means something.
    pub fn software_read(&self) -> bool {
        self.software_hive
            .as_ref()
            .is_some_and(|h| h.error.is_none())
    }
    pub fn system_read(&self) -> bool {
        self.system_hive.as_ref().is_some_and(|h| h.error.is_none())
    }
    pub fn for_rule(&self, id: &str) -> Option<&RuleRegistry> {
        self.rules.iter().find(|r| r.rule == id)
    }
}
