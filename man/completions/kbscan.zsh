#compdef kbscan

autoload -U is-at-least

_kbscan() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_kbscan_commands" \
"*::: :->kbscan" \
&& ret=0
    case $state in
    (kbscan)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:kbscan-command-$line[1]:"
        case $line[1] in
            (scan)
_arguments "${_arguments_options[@]}" : \
'-f+[Output format]:FORMAT:((table\:"Aligned text for people (fits 100 columns)"
csv\:"One row per finding, header row first"
json\:"One JSON document"
jsonl\:"One JSON object per line, each carrying its root"
timeline\:"One JSON object per time read (file, update log, registry key), sorted, for Timesketch"
html\:"One self-contained, printable HTML page (scan only)"))' \
'--format=[Output format]:FORMAT:((table\:"Aligned text for people (fits 100 columns)"
csv\:"One row per finding, header row first"
json\:"One JSON document"
jsonl\:"One JSON object per line, each carrying its root"
timeline\:"One JSON object per time read (file, update log, registry key), sorted, for Timesketch"
html\:"One self-contained, printable HTML page (scan only)"))' \
'-o+[Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input (root, image segment, hive, rule file), and when FILE exists unless --force; written to a temporary file beside it and moved into place only when the command succeeded]:FILE:_files' \
'--output=[Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input (root, image segment, hive, rule file), and when FILE exists unless --force; written to a temporary file beside it and moved into place only when the command succeeded]:FILE:_files' \
'--color=[Colour the table'\''s verdicts\: auto (only on a terminal, and not when NO_COLOR is set), always, never]:WHEN:((auto\:"Only when standard output is a terminal and NO_COLOR is not set"
always\:"Always, even into a file or a pipe"
never\:"Never"))' \
'--width=[Keep the table'\''s lines within COLS columns (at least 40), wrapping at spaces and after a \`/\` in paths; 0\: never wrap (one line per finding, for grep). Default\: the terminal'\''s width, or 100 into a file or a pipe]:COLS:_default' \
'*--rules=[Add the rules in FILE (TOML, see docs/rules.md; a regular file of at most 1 MiB); may be repeated]:FILE:_files' \
'*--rule=[Use only the rule ID (case-insensitive; all loaded rules by default); may be repeated]:ID:_default' \
'--software-hive=[Read the SOFTWARE hive from FILE instead of <windir>/system32/config/SOFTWARE under each root (for hives exported separately; applies to every root)]:FILE:_files' \
'--system-hive=[Read the SYSTEM hive from FILE instead of the one found under each root]:FILE:_files' \
'--max-size=[Do not read candidate files larger than this\: bytes, or with a suffix K, M, G, T (powers of 1024\: 64M, 2G)]:SIZE:_default' \
'-j+[Threads reading directories, 1 to 256 (default\: one per core); 1 walks sequentially. The report is sorted, so it is the same whatever the number]:N:_default' \
'--threads=[Threads reading directories, 1 to 256 (default\: one per core); 1 walks sequentially. The report is sorted, so it is the same whatever the number]:N:_default' \
'--as-of=[Also judge each root as it was at DATE (RFC 3339, or YYYY-MM-DD meaning midnight UTC) from the install-time evidence\: exit 1 when a root was vulnerable then, 2 when none was but one cannot be told]:DATE:_default' \
'--case=[The case this examination belongs to, recorded in the report (at most 256 characters)]:ID:_default' \
'--examiner=[Who ran the examination, recorded in the report (at most 256 characters)]:NAME:_default' \
'--force[Replace FILE given with -o (and a CSV report'\''s FILE.examination.json) when it exists; by default an existing file is refused and left as it was]' \
'--excel[CSV for spreadsheets\: a UTF-8 byte order mark first (so Excel reads the text as UTF-8) and times as \`YYYY-MM-DD hh\:mm\:ss\` in UTC (which Excel parses as dates) instead of RFC 3339 with fractions; with -f csv only]' \
'--follow-symlinks[Follow symbolic links whose target stays inside the root (absolute links never)]' \
'--cross-mounts[Walk folders that are mount points (another file system, a bind mount) inside a folder root; by default each is a notice and is not walked (find'\''s and fd'\''s \`-xdev\`)]' \
'-q[No progress line and no per-path messages on standard error]' \
'--quiet[No progress line and no per-path messages on standard error]' \
'--verify-image[Before scanning a container image, check its stored hashes (E01 MD5/SHA-1, reading the whole image) or checksums (VHD, VHDX); a mismatch makes its roots inconclusive]' \
'--brief[Table\: the summary and each root'\''s findings table, without the evidence blocks]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'*::roots -- Folders to scan, each judged as one system (e.g. a mounted C\: drive), or raw disk images (whole disk, one partition, or the first file of a split set `disk.001`)\: each NTFS or FAT volume in an image is judged as one system, named IMAGE#pN:_files' \
&& ret=0
;;
(case)
_arguments "${_arguments_options[@]}" : \
'--manifest=[The evidence items listed in FILE instead\: one path per line (blank lines and lines starting with # ignored), or CSV whose header names an \`id\` and a \`path\` column; relative paths are taken from FILE'\''s folder]:FILE:_files' \
'-o+[The output folder (created when missing); refused when it is, or lies inside, any evidence item, the case folder, the manifest or a rule file]:OUT:_files' \
'--output-dir=[The output folder (created when missing); refused when it is, or lies inside, any evidence item, the case folder, the manifest or a rule file]:OUT:_files' \
'*--rules=[Add the rules in FILE (TOML, see docs/rules.md; a regular file of at most 1 MiB); may be repeated]:FILE:_files' \
'*--rule=[Use only the rule ID (case-insensitive; all loaded rules by default); may be repeated]:ID:_default' \
'-J+[Evidence items scanned at once, 1 to 256 (default\: one per core, at most one per item). Memory is at most the sum of the running items'\'' own bounds]:N:_default' \
'--jobs=[Evidence items scanned at once, 1 to 256 (default\: one per core, at most one per item). Memory is at most the sum of the running items'\'' own bounds]:N:_default' \
'-j+[Threads per item, 1 to 256 (default\: the cores divided by the jobs, at least 1)]:N:_default' \
'--threads=[Threads per item, 1 to 256 (default\: the cores divided by the jobs, at least 1)]:N:_default' \
'--max-size=[Do not read candidate files larger than this (64M, 2G)]:SIZE:_default' \
'--as-of=[Also judge each system as it was at DATE (RFC 3339, or YYYY-MM-DD meaning midnight UTC); the matrix shows each rule'\''s state at that date]:DATE:_default' \
'--case=[The case this examination belongs to, recorded in every report]:ID:_default' \
'--examiner=[Who ran the examination, recorded in every report]:NAME:_default' \
'--color=[Colour the printed table'\''s verdicts\: auto, always, never]:WHEN:((auto\:"Only when standard output is a terminal and NO_COLOR is not set"
always\:"Always, even into a file or a pipe"
never\:"Never"))' \
'--rescan[Scan every item again, even one whose report matches its evidence]' \
'--follow-symlinks[Follow symbolic links whose target stays inside a folder item (absolute links never)]' \
'--cross-mounts[Walk folders that are mount points inside a folder item]' \
'--verify-image[Check each container'\''s stored hashes or checksums before scanning it (reads the whole image)]' \
'-q[No progress line and no per-item messages on standard error]' \
'--quiet[No progress line and no per-item messages on standard error]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'::dir -- A folder whose entries are the evidence items\: each subfolder a tree (one system, like `kbscan scan DIR`), each file a disk image (segments and extents of another entry'\''s set are part of it, not items of their own):_files' \
&& ret=0
;;
(updates)
_arguments "${_arguments_options[@]}" : \
'-f+[Output format]:FORMAT:((table\:"Aligned text for people (fits 100 columns)"
csv\:"One row per finding, header row first"
json\:"One JSON document"
jsonl\:"One JSON object per line, each carrying its root"
timeline\:"One JSON object per time read (file, update log, registry key), sorted, for Timesketch"
html\:"One self-contained, printable HTML page (scan only)"))' \
'--format=[Output format]:FORMAT:((table\:"Aligned text for people (fits 100 columns)"
csv\:"One row per finding, header row first"
json\:"One JSON document"
jsonl\:"One JSON object per line, each carrying its root"
timeline\:"One JSON object per time read (file, update log, registry key), sorted, for Timesketch"
html\:"One self-contained, printable HTML page (scan only)"))' \
'-o+[Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input (root, image segment, hive, rule file), and when FILE exists unless --force; written to a temporary file beside it and moved into place only when the command succeeded]:FILE:_files' \
'--output=[Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input (root, image segment, hive, rule file), and when FILE exists unless --force; written to a temporary file beside it and moved into place only when the command succeeded]:FILE:_files' \
'--color=[Colour the table'\''s verdicts\: auto (only on a terminal, and not when NO_COLOR is set), always, never]:WHEN:((auto\:"Only when standard output is a terminal and NO_COLOR is not set"
always\:"Always, even into a file or a pipe"
never\:"Never"))' \
'--width=[Keep the table'\''s lines within COLS columns (at least 40), wrapping at spaces and after a \`/\` in paths; 0\: never wrap (one line per finding, for grep). Default\: the terminal'\''s width, or 100 into a file or a pipe]:COLS:_default' \
'--software-hive=[Read the SOFTWARE hive from FILE instead of the one found under each root]:FILE:_files' \
'--max-size=[Do not read listed files larger than this (64M, 2G)]:SIZE:_default' \
'-j+[Threads reading directories, 1 to 256 (default\: one per core)]:N:_default' \
'--threads=[Threads reading directories, 1 to 256 (default\: one per core)]:N:_default' \
'--case=[The case this examination belongs to, recorded in the report]:ID:_default' \
'--examiner=[Who ran the examination, recorded in the report]:NAME:_default' \
'--force[Replace FILE given with -o (and a CSV report'\''s FILE.examination.json) when it exists; by default an existing file is refused and left as it was]' \
'--excel[CSV for spreadsheets\: a UTF-8 byte order mark first (so Excel reads the text as UTF-8) and times as \`YYYY-MM-DD hh\:mm\:ss\` in UTC (which Excel parses as dates) instead of RFC 3339 with fractions; with -f csv only]' \
'--follow-symlinks[Follow symbolic links whose target stays inside the root (absolute links never)]' \
'--cross-mounts[Walk folders that are mount points inside a folder root]' \
'-q[No progress line and no per-path messages on standard error]' \
'--quiet[No progress line and no per-path messages on standard error]' \
'--verify-image[Check each container'\''s stored hashes or checksums before reading it]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'*::roots -- Folders, disk images or backups to audit, as `kbscan scan` reads them\: each Windows folder found (with its hives) is one system:_files' \
&& ret=0
;;
(version)
_arguments "${_arguments_options[@]}" : \
'-f+[Output format]:FORMAT:((table\:"Aligned text for people (fits 100 columns)"
csv\:"One row per finding, header row first"
json\:"One JSON document"
jsonl\:"One JSON object per line, each carrying its root"
timeline\:"One JSON object per time read (file, update log, registry key), sorted, for Timesketch"))' \
'--format=[Output format]:FORMAT:((table\:"Aligned text for people (fits 100 columns)"
csv\:"One row per finding, header row first"
json\:"One JSON document"
jsonl\:"One JSON object per line, each carrying its root"
timeline\:"One JSON object per time read (file, update log, registry key), sorted, for Timesketch"))' \
'-o+[Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input; refused too when FILE exists, unless --force]:FILE:_files' \
'--output=[Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input; refused too when FILE exists, unless --force]:FILE:_files' \
'--color=[Colour the table'\''s verdicts\: auto (only on a terminal, and not when NO_COLOR is set), always, never]:WHEN:((auto\:"Only when standard output is a terminal and NO_COLOR is not set"
always\:"Always, even into a file or a pipe"
never\:"Never"))' \
'--max-size=[Do not read files larger than this\: bytes, or with a suffix K, M, G, T (64M, 2G)]:SIZE:_default' \
'-r[Describe every PE file (one that begins with MZ) under each FOLDER given, in path order\: links are not followed and nothing outside the folder is read]' \
'--recurse[Describe every PE file (one that begins with MZ) under each FOLDER given, in path order\: links are not followed and nothing outside the folder is read]' \
'--force[Replace FILE given with -o when it exists (by default an existing file is refused)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'*::files -- PE files to describe (with -r, folders too):_files' \
&& ret=0
;;
(rules)
_arguments "${_arguments_options[@]}" : \
'-f+[Output format]:FORMAT:((table\:"Aligned text for people (fits 100 columns)"
csv\:"One row per finding, header row first"
json\:"One JSON document"
jsonl\:"One JSON object per line, each carrying its root"
timeline\:"One JSON object per time read (file, update log, registry key), sorted, for Timesketch"))' \
'--format=[Output format]:FORMAT:((table\:"Aligned text for people (fits 100 columns)"
csv\:"One row per finding, header row first"
json\:"One JSON document"
jsonl\:"One JSON object per line, each carrying its root"
timeline\:"One JSON object per time read (file, update log, registry key), sorted, for Timesketch"))' \
'-o+[Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input; refused too when FILE exists, unless --force]:FILE:_files' \
'--output=[Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input; refused too when FILE exists, unless --force]:FILE:_files' \
'--color=[Colour the table'\''s verdicts\: auto (only on a terminal, and not when NO_COLOR is set), always, never]:WHEN:((auto\:"Only when standard output is a terminal and NO_COLOR is not set"
always\:"Always, even into a file or a pipe"
never\:"Never"))' \
'*--rules=[Add the rules in FILE (TOML, see docs/rules.md; a regular file of at most 1 MiB); may be repeated]:FILE:_files' \
'*--rule=[Use only the rule ID (case-insensitive; all loaded rules by default); may be repeated]:ID:_default' \
'--force[Replace FILE given with -o when it exists (by default an existing file is refused)]' \
'--lineage[Print the build lineage table (which update shipped which build) instead of the rules]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(completions)
_arguments "${_arguments_options[@]}" : \
'-h[Print help]' \
'--help[Print help]' \
':shell -- The shell to complete for:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(man)
_arguments "${_arguments_options[@]}" : \
'-h[Print help]' \
'--help[Print help]' \
':dir -- The folder the pages are written into (created when missing):_files' \
&& ret=0
;;
        esac
    ;;
esac
}

(( $+functions[_kbscan_commands] )) ||
_kbscan_commands() {
    local commands; commands=(
'scan:Scan one or more roots (each the top of one Windows system) and judge them' \
'case:Scan every evidence item of a case (a folder of images and trees, or a manifest) and write one JSON report per item and a matrix of systems × rules' \
'updates:Audit every update the registry records\: each file an update record lists, compared with the live file (an offline Qfecheck)' \
'version:Print the version information of any PE file (an offline sigcheck)' \
'rules:List the loaded rules (advisories)' \
'completions:Print a shell completion script (bash, elvish, fish, powershell, zsh) to standard output' \
'man:Write the man pages (kbscan.1 and one per subcommand) into DIR' \
    )
    _describe -t commands 'kbscan commands' commands "$@"
}
(( $+functions[_kbscan__subcmd__case_commands] )) ||
_kbscan__subcmd__case_commands() {
    local commands; commands=()
    _describe -t commands 'kbscan case commands' commands "$@"
}
(( $+functions[_kbscan__subcmd__completions_commands] )) ||
_kbscan__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'kbscan completions commands' commands "$@"
}
(( $+functions[_kbscan__subcmd__man_commands] )) ||
_kbscan__subcmd__man_commands() {
    local commands; commands=()
    _describe -t commands 'kbscan man commands' commands "$@"
}
(( $+functions[_kbscan__subcmd__rules_commands] )) ||
_kbscan__subcmd__rules_commands() {
    local commands; commands=()
    _describe -t commands 'kbscan rules commands' commands "$@"
}
(( $+functions[_kbscan__subcmd__scan_commands] )) ||
_kbscan__subcmd__scan_commands() {
    local commands; commands=()
    _describe -t commands 'kbscan scan commands' commands "$@"
}
(( $+functions[_kbscan__subcmd__updates_commands] )) ||
_kbscan__subcmd__updates_commands() {
    local commands; commands=()
    _describe -t commands 'kbscan updates commands' commands "$@"
}
(( $+functions[_kbscan__subcmd__version_commands] )) ||
_kbscan__subcmd__version_commands() {
    local commands; commands=()
    _describe -t commands 'kbscan version commands' commands "$@"
}

if [ "$funcstack[1]" = "_kbscan" ]; then
    _kbscan "$@"
else
    compdef _kbscan kbscan
fi
