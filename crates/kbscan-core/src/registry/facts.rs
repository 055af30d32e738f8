//! The facts the rules need, read from an opened hive: the Windows version, the product
//! type, the update records and the services, each bounded whatever the hive's lists claim.

use nt_hive::{KeyNode, KeyValueDataType, NtHiveError};

use crate::model::file::Pairs;
use crate::model::system::{OsFacts, UpdateRecord, WrongTypeValue};

/// Bounds on what is enumerated in a hive, whatever its lists claim.
const MAX_SUBKEYS: usize = 10_000;
const MAX_VALUES: usize = 256;

pub fn key<'h>(
    node: &KeyNode<'h, &'h [u8]>,
    path: &str,
) -> Result<Option<KeyNode<'h, &'h [u8]>>, NtHiveError> {
    node.subpath(path).transpose()
}

/// A value as text: strings as they are, numbers in decimal, anything else as its type.
pub fn value_text(node: &KeyNode<'_, &[u8]>, name: &str) -> Result<Option<String>, NtHiveError> {
    let Some(v) = node.value(name).transpose()? else {
        return Ok(None);
    };
    value_to_text(&v).map(Some)
}

fn value_to_text(v: &nt_hive::KeyValue<'_, &[u8]>) -> Result<String, NtHiveError> {
    Ok(match v.data_type()? {
        KeyValueDataType::RegSZ | KeyValueDataType::RegExpandSZ => {
            v.string_data()?.trim_end_matches('\0').to_owned()
        }
        KeyValueDataType::RegDWord | KeyValueDataType::RegDWordBigEndian => {
            v.dword_data()?.to_string()
        }
        KeyValueDataType::RegQWord => v.qword_data()?.to_string(),
        KeyValueDataType::RegMultiSZ => {
            let parts: Result<Vec<String>, _> = v.multi_string_data()?.take(MAX_VALUES).collect();
            parts?.join("; ")
        }
        other => format!("<{other:?}, {} bytes>", v.data_size()),
    })
}

pub fn dword(node: &KeyNode<'_, &[u8]>, name: &str) -> Result<Option<u32>, NtHiveError> {
    match node.value(name).transpose()? {
        Some(v) => v.dword_data().map(Some),
        None => Ok(None),
    }
}

fn all_values(node: &KeyNode<'_, &[u8]>) -> Result<Pairs, NtHiveError> {
    let mut out = Vec::new();
    if let Some(values) = node.values().transpose()? {
        for v in values.take(MAX_VALUES) {
            let v = v?;
            let name = v.name()?.to_string_lossy();
            let text = value_to_text(&v).unwrap_or_else(|e| format!("<unreadable: {e}>"));
            out.push((
                if name.is_empty() {
                    "(default)".to_owned()
                } else {
                    name
                },
                text,
            ));
        }
    }
    Ok(Pairs(out))
}

pub(crate) fn subkeys<'h>(
    node: &KeyNode<'h, &'h [u8]>,
) -> Result<Vec<KeyNode<'h, &'h [u8]>>, NtHiveError> {
    let mut out = Vec::new();
    if let Some(list) = node.subkeys().transpose()? {
        for k in list.take(MAX_SUBKEYS) {
            out.push(k?);
        }
    }
    Ok(out)
}

fn update_record(node: &KeyNode<'_, &[u8]>, path: String) -> Result<UpdateRecord, NtHiveError> {
    let mut file_list = Vec::new();
    if let Some(list) = node.subkey("FileList").transpose()? {
        for f in subkeys(&list)? {
            file_list.push(all_values(&f)?);
        }
    }
    Ok(UpdateRecord {
        key: path,
        values: all_values(node)?,
        file_list,
    })
}

/// Every place Windows records an installed hotfix: `Microsoft\Updates\<product>\<KB>`,
/// `Microsoft\Updates\<product>\<SP>\<KB>`, and `Microsoft\Windows NT\CurrentVersion\HotFix\<KB>`.
pub fn find_update_records(
    root: KeyNode<&[u8]>,
    kb: &str,
) -> Result<Vec<UpdateRecord>, NtHiveError> {
    let mut out = Vec::new();
    if let Some(updates) = key(&root, "Microsoft\\Updates")? {
        for product in subkeys(&updates)? {
            let pname = product.name()?.to_string_lossy();
            if let Some(k) = product.subkey(kb).transpose()? {
                let kname = k.name()?.to_string_lossy();
                out.push(update_record(
                    &k,
                    format!("Microsoft\\Updates\\{pname}\\{kname}"),
                )?);
            }
            for level in subkeys(&product)? {
                let lname = level.name()?.to_string_lossy();
                if let Some(k) = level.subkey(kb).transpose()? {
                    let kname = k.name()?.to_string_lossy();
                    out.push(update_record(
                        &k,
                        format!("Microsoft\\Updates\\{pname}\\{lname}\\{kname}"),
                    )?);
                }
            }
        }
    }
    let hotfix = format!("Microsoft\\Windows NT\\CurrentVersion\\HotFix\\{kb}");
    if let Some(k) = key(&root, &hotfix)? {
        out.push(update_record(&k, hotfix)?);
    }
    Ok(out)
}

/// A key a rule names exactly (`Microsoft\Updates\…\KB980858_WM41`), looked up
/// case-insensitively; its path as the hive spells it.
pub fn declared_record(
    root: KeyNode<&[u8]>,
    path: &str,
) -> Result<Option<UpdateRecord>, NtHiveError> {
    let mut node = root;
    let mut shown = Vec::new();
    for part in path.split('\\').filter(|p| !p.is_empty()) {
        match node.subkey(part).transpose()? {
            Some(k) => {
                shown.push(k.name()?.to_string_lossy());
                node = k;
            }
            None => return Ok(None),
        }
    }
    update_record(&node, shown.join("\\")).map(Some)
}

/// The name Microsoft documents for a value type.
pub(crate) fn type_name(t: KeyValueDataType) -> &'static str {
    match t {
        KeyValueDataType::RegNone => "REG_NONE",
        KeyValueDataType::RegSZ => "REG_SZ",
        KeyValueDataType::RegExpandSZ => "REG_EXPAND_SZ",
        KeyValueDataType::RegBinary => "REG_BINARY",
        KeyValueDataType::RegDWord => "REG_DWORD",
        KeyValueDataType::RegDWordBigEndian => "REG_DWORD_BIG_ENDIAN",
        KeyValueDataType::RegLink => "REG_LINK",
        KeyValueDataType::RegMultiSZ => "REG_MULTI_SZ",
        KeyValueDataType::RegResourceList => "REG_RESOURCE_LIST",
        KeyValueDataType::RegFullResourceDescriptor => "REG_FULL_RESOURCE_DESCRIPTOR",
        KeyValueDataType::RegResourceRequirementsList => "REG_RESOURCE_REQUIREMENTS_LIST",
        KeyValueDataType::RegQWord => "REG_QWORD",
    }
}

/// A value read only when it has its documented type (issue 10 case 5): `Some` with the
/// value, `None` when absent or of another type; another type is recorded in `wrong` with
/// the value's path (`at` is `HIVE\key`), so it is shown and becomes a reason.
fn typed<T>(
    node: &KeyNode<'_, &[u8]>,
    at: &str,
    name: &str,
    expected: KeyValueDataType,
    read: impl FnOnce(&nt_hive::KeyValue<'_, &[u8]>) -> Result<T, NtHiveError>,
    wrong: &mut Vec<WrongTypeValue>,
) -> Result<Option<T>, NtHiveError> {
    let Some(v) = node.value(name).transpose()? else {
        return Ok(None);
    };
    let found = match v.data_type() {
        Ok(t) if t == expected => return read(&v).map(Some),
        Ok(t) => type_name(t).to_owned(),
        // A type number nt-hive does not know (not one of the documented ones).
        Err(e) => format!("unknown type ({e})"),
    };
    wrong.push(WrongTypeValue {
        value: format!("{at}\\{name}"),
        expected: type_name(expected),
        found,
        data: value_to_text(&v).unwrap_or_else(|_| format!("<{} bytes>", v.data_size())),
    });
    Ok(None)
}

/// A `REG_SZ` value (trailing NULs dropped), or `None` (absent or of another type, recorded).
pub fn sz(
    node: &KeyNode<'_, &[u8]>,
    at: &str,
    name: &str,
    wrong: &mut Vec<WrongTypeValue>,
) -> Result<Option<String>, NtHiveError> {
    typed(
        node,
        at,
        name,
        KeyValueDataType::RegSZ,
        |v| Ok(v.string_data()?.trim_end_matches('\0').to_owned()),
        wrong,
    )
}

/// A `REG_DWORD` value, or `None` (absent or of another type, recorded).
pub fn reg_dword(
    node: &KeyNode<'_, &[u8]>,
    at: &str,
    name: &str,
    wrong: &mut Vec<WrongTypeValue>,
) -> Result<Option<u32>, NtHiveError> {
    typed(
        node,
        at,
        name,
        KeyValueDataType::RegDWord,
        |v| v.dword_data(),
        wrong,
    )
}

/// One service key under a control set's `Services`, as configured: which of them runs a
/// rule's file is decided by `services::runs_file`.
#[derive(Debug, Clone)]
pub struct ServiceKey {
    /// The key name (`nsunicast`).
    pub name: String,
    /// `ImagePath` as text (whatever its type: a path of another type does not resolve).
    pub image_path: Option<String>,
    /// `Start`, a `REG_DWORD`; a value of another type is not used …
    pub start: Option<u32>,
    /// … and is recorded here, to be reported only when the service matters.
    pub start_wrong: Vec<WrongTypeValue>,
    /// When the program is named by an 8.3 alias (`NSCM~1.EXE`): the names of the entries it
    /// names on the volume (filled by the registry reader, bounded per system).
    pub alias_names: Vec<String>,
}

/// Every service key of control set `cs` (at most `MAX_SUBKEYS`). A key that cannot be
/// read is a note in `notes` (the first 16, then a count), and the others are still read.
pub fn read_services(
    root: KeyNode<&[u8]>,
    cs: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<ServiceKey>, NtHiveError> {
    let Some(services) = key(&root, &format!("{cs}\\Services"))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let Some(list) = services.subkeys().transpose()? else {
        return Ok(out);
    };
    // A damaged hive may fail on thousands of keys: the first few are named, the rest counted.
    const MAX_KEY_NOTES: usize = 16;
    let mut failed = 0usize;
    for k in list.take(MAX_SUBKEYS) {
        let read = k.and_then(|k| {
            let name = k.name()?.to_string_lossy();
            let mut start_wrong = Vec::new();
            let at = format!("SYSTEM\\{cs}\\Services\\{name}");
            Ok(ServiceKey {
                image_path: value_text(&k, "ImagePath")?,
                start: reg_dword(&k, &at, "Start", &mut start_wrong)?,
                start_wrong,
                alias_names: Vec::new(),
                name,
            })
        });
        match read {
            Ok(sk) => out.push(sk),
            Err(e) => {
                failed += 1;
                if failed <= MAX_KEY_NOTES {
                    notes.push(format!("SYSTEM hive: a key under {cs}\\Services: {e}"));
                }
            }
        }
    }
    if failed > MAX_KEY_NOTES {
        notes.push(format!(
            "SYSTEM hive: {} more keys under {cs}\\Services could not be read",
            failed - MAX_KEY_NOTES
        ));
    }
    Ok(out)
}

/// The Windows identity from SOFTWARE `Microsoft\Windows NT\CurrentVersion`, each value used
/// only when it is a `REG_SZ` (the documented type); the cross-check is `judge::reconcile`'s.
pub fn read_os(root: KeyNode<&[u8]>, os: &mut OsFacts) -> Result<(), NtHiveError> {
    const AT: &str = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";
    if let Some(cv) = key(&root, "Microsoft\\Windows NT\\CurrentVersion")? {
        let w = &mut os.wrong_type;
        os.product_name = sz(&cv, AT, "ProductName", w)?;
        os.current_version = sz(&cv, AT, "CurrentVersion", w)?;
        os.build = sz(&cv, AT, "CurrentBuildNumber", w)?;
        os.csd_version = sz(&cv, AT, "CSDVersion", w)?;
    }
    Ok(())
}

/// The current control set (`Select\Current`, a `REG_DWORD`) and its product type
/// (`ProductType`, a `REG_SZ`).
pub fn read_product(root: KeyNode<&[u8]>, os: &mut OsFacts) -> Result<(), NtHiveError> {
    let current = match key(&root, "Select")? {
        Some(sel) => reg_dword(&sel, "SYSTEM\\Select", "Current", &mut os.wrong_type)?,
        None => None,
    };
    let Some(n) = current else { return Ok(()) };
    let cs = format!("ControlSet{n:03}");
    let at = format!("{cs}\\Control\\ProductOptions");
    if let Some(po) = key(&root, &at)? {
        os.product_type = sz(
            &po,
            &format!("SYSTEM\\{at}"),
            "ProductType",
            &mut os.wrong_type,
        )?;
    }
    os.control_set = Some(cs);
    Ok(())
}
