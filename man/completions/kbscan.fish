# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kbscan_global_optspecs
    string join \n h/help V/version
end

function __fish_kbscan_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kbscan_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kbscan_using_subcommand
    set -l cmd (__fish_kbscan_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kbscan -n "__fish_kbscan_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kbscan -n "__fish_kbscan_needs_command" -s V -l version -d 'Print version'
complete -c kbscan -n "__fish_kbscan_needs_command" -f -a "scan" -d 'Scan one or more roots (each the top of one Windows system) and judge them'
complete -c kbscan -n "__fish_kbscan_needs_command" -f -a "case" -d 'Scan every evidence item of a case (a folder of images and trees, or a manifest) and write one JSON report per item and a matrix of systems × rules'
complete -c kbscan -n "__fish_kbscan_needs_command" -f -a "updates" -d 'Audit every update the registry records: each file an update record lists, compared with the live file (an offline Qfecheck)'
complete -c kbscan -n "__fish_kbscan_needs_command" -f -a "version" -d 'Print the version information of any PE file (an offline sigcheck)'
complete -c kbscan -n "__fish_kbscan_needs_command" -f -a "rules" -d 'List the loaded rules (advisories)'
complete -c kbscan -n "__fish_kbscan_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, elvish, fish, powershell, zsh) to standard output'
complete -c kbscan -n "__fish_kbscan_needs_command" -f -a "man" -d 'Write the man pages (kbscan.1 and one per subcommand) into DIR'
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -s f -l format -d 'Output format' -r -f -a "table\t'Aligned text for people (fits 100 columns)'
csv\t'One row per finding, header row first'
json\t'One JSON document'
jsonl\t'One JSON object per line, each carrying its root'
timeline\t'One JSON object per time read (file, update log, registry key), sorted, for Timesketch'
html\t'One self-contained, printable HTML page (scan only)'"
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -s o -l output -d 'Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input (root, image segment, hive, rule file), and when FILE exists unless --force; written to a temporary file beside it and moved into place only when the command succeeded' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l color -d 'Colour the table\'s verdicts: auto (only on a terminal, and not when NO_COLOR is set), always, never' -r -f -a "auto\t'Only when standard output is a terminal and NO_COLOR is not set'
always\t'Always, even into a file or a pipe'
never\t'Never'"
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l width -d 'Keep the table\'s lines within COLS columns (at least 40), wrapping at spaces and after a `/` in paths; 0: never wrap (one line per finding, for grep). Default: the terminal\'s width, or 100 into a file or a pipe' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l rules -d 'Add the rules in FILE (TOML, see docs/rules.md; a regular file of at most 1 MiB); may be repeated' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l rule -d 'Use only the rule ID (case-insensitive; all loaded rules by default); may be repeated' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l software-hive -d 'Read the SOFTWARE hive from FILE instead of <windir>/system32/config/SOFTWARE under each root (for hives exported separately; applies to every root)' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l system-hive -d 'Read the SYSTEM hive from FILE instead of the one found under each root' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l max-size -d 'Do not read candidate files larger than this: bytes, or with a suffix K, M, G, T (powers of 1024: 64M, 2G)' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -s j -l threads -d 'Threads reading directories, 1 to 256 (default: one per core); 1 walks sequentially. The report is sorted, so it is the same whatever the number' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l as-of -d 'Also judge each root as it was at DATE (RFC 3339, or YYYY-MM-DD meaning midnight UTC) from the install-time evidence: exit 1 when a root was vulnerable then, 2 when none was but one cannot be told' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l case -d 'The case this examination belongs to, recorded in the report (at most 256 characters)' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l examiner -d 'Who ran the examination, recorded in the report (at most 256 characters)' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l force -d 'Replace FILE given with -o (and a CSV report\'s FILE.examination.json) when it exists; by default an existing file is refused and left as it was'
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l excel -d 'CSV for spreadsheets: a UTF-8 byte order mark first (so Excel reads the text as UTF-8) and times as `YYYY-MM-DD hh:mm:ss` in UTC (which Excel parses as dates) instead of RFC 3339 with fractions; with -f csv only'
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l follow-symlinks -d 'Follow symbolic links whose target stays inside the root (absolute links never)'
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l cross-mounts -d 'Walk folders that are mount points (another file system, a bind mount) inside a folder root; by default each is a notice and is not walked (find\'s and fd\'s `-xdev`)'
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -s q -l quiet -d 'No progress line and no per-path messages on standard error'
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l verify-image -d 'Before scanning a container image, check its stored hashes (E01 MD5/SHA-1, reading the whole image) or checksums (VHD, VHDX); a mismatch makes its roots inconclusive'
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -l brief -d 'Table: the summary and each root\'s findings table, without the evidence blocks'
complete -c kbscan -n "__fish_kbscan_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l manifest -d 'The evidence items listed in FILE instead: one path per line (blank lines and lines starting with # ignored), or CSV whose header names an `id` and a `path` column; relative paths are taken from FILE\'s folder' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -s o -l output-dir -d 'The output folder (created when missing); refused when it is, or lies inside, any evidence item, the case folder, the manifest or a rule file' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l rules -d 'Add the rules in FILE (TOML, see docs/rules.md; a regular file of at most 1 MiB); may be repeated' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l rule -d 'Use only the rule ID (case-insensitive; all loaded rules by default); may be repeated' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -s J -l jobs -d 'Evidence items scanned at once, 1 to 256 (default: one per core, at most one per item). Memory is at most the sum of the running items\' own bounds' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -s j -l threads -d 'Threads per item, 1 to 256 (default: the cores divided by the jobs, at least 1)' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l max-size -d 'Do not read candidate files larger than this (64M, 2G)' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l as-of -d 'Also judge each system as it was at DATE (RFC 3339, or YYYY-MM-DD meaning midnight UTC); the matrix shows each rule\'s state at that date' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l case -d 'The case this examination belongs to, recorded in every report' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l examiner -d 'Who ran the examination, recorded in every report' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l color -d 'Colour the printed table\'s verdicts: auto, always, never' -r -f -a "auto\t'Only when standard output is a terminal and NO_COLOR is not set'
always\t'Always, even into a file or a pipe'
never\t'Never'"
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l rescan -d 'Scan every item again, even one whose report matches its evidence'
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l follow-symlinks -d 'Follow symbolic links whose target stays inside a folder item (absolute links never)'
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l cross-mounts -d 'Walk folders that are mount points inside a folder item'
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -l verify-image -d 'Check each container\'s stored hashes or checksums before scanning it (reads the whole image)'
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -s q -l quiet -d 'No progress line and no per-item messages on standard error'
complete -c kbscan -n "__fish_kbscan_using_subcommand case" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -s f -l format -d 'Output format' -r -f -a "table\t'Aligned text for people (fits 100 columns)'
csv\t'One row per finding, header row first'
json\t'One JSON document'
jsonl\t'One JSON object per line, each carrying its root'
timeline\t'One JSON object per time read (file, update log, registry key), sorted, for Timesketch'
html\t'One self-contained, printable HTML page (scan only)'"
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -s o -l output -d 'Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input (root, image segment, hive, rule file), and when FILE exists unless --force; written to a temporary file beside it and moved into place only when the command succeeded' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l color -d 'Colour the table\'s verdicts: auto (only on a terminal, and not when NO_COLOR is set), always, never' -r -f -a "auto\t'Only when standard output is a terminal and NO_COLOR is not set'
always\t'Always, even into a file or a pipe'
never\t'Never'"
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l width -d 'Keep the table\'s lines within COLS columns (at least 40), wrapping at spaces and after a `/` in paths; 0: never wrap (one line per finding, for grep). Default: the terminal\'s width, or 100 into a file or a pipe' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l software-hive -d 'Read the SOFTWARE hive from FILE instead of the one found under each root' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l max-size -d 'Do not read listed files larger than this (64M, 2G)' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -s j -l threads -d 'Threads reading directories, 1 to 256 (default: one per core)' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l case -d 'The case this examination belongs to, recorded in the report' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l examiner -d 'Who ran the examination, recorded in the report' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l force -d 'Replace FILE given with -o (and a CSV report\'s FILE.examination.json) when it exists; by default an existing file is refused and left as it was'
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l excel -d 'CSV for spreadsheets: a UTF-8 byte order mark first (so Excel reads the text as UTF-8) and times as `YYYY-MM-DD hh:mm:ss` in UTC (which Excel parses as dates) instead of RFC 3339 with fractions; with -f csv only'
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l follow-symlinks -d 'Follow symbolic links whose target stays inside the root (absolute links never)'
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l cross-mounts -d 'Walk folders that are mount points inside a folder root'
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -s q -l quiet -d 'No progress line and no per-path messages on standard error'
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -l verify-image -d 'Check each container\'s stored hashes or checksums before reading it'
complete -c kbscan -n "__fish_kbscan_using_subcommand updates" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kbscan -n "__fish_kbscan_using_subcommand version" -s f -l format -d 'Output format' -r -f -a "table\t'Aligned text for people (fits 100 columns)'
csv\t'One row per finding, header row first'
json\t'One JSON document'
jsonl\t'One JSON object per line, each carrying its root'
timeline\t'One JSON object per time read (file, update log, registry key), sorted, for Timesketch'"
complete -c kbscan -n "__fish_kbscan_using_subcommand version" -s o -l output -d 'Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input; refused too when FILE exists, unless --force' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand version" -l color -d 'Colour the table\'s verdicts: auto (only on a terminal, and not when NO_COLOR is set), always, never' -r -f -a "auto\t'Only when standard output is a terminal and NO_COLOR is not set'
always\t'Always, even into a file or a pipe'
never\t'Never'"
complete -c kbscan -n "__fish_kbscan_using_subcommand version" -l max-size -d 'Do not read files larger than this: bytes, or with a suffix K, M, G, T (64M, 2G)' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand version" -s r -l recurse -d 'Describe every PE file (one that begins with MZ) under each FOLDER given, in path order: links are not followed and nothing outside the folder is read'
complete -c kbscan -n "__fish_kbscan_using_subcommand version" -l force -d 'Replace FILE given with -o when it exists (by default an existing file is refused)'
complete -c kbscan -n "__fish_kbscan_using_subcommand version" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kbscan -n "__fish_kbscan_using_subcommand rules" -s f -l format -d 'Output format' -r -f -a "table\t'Aligned text for people (fits 100 columns)'
csv\t'One row per finding, header row first'
json\t'One JSON document'
jsonl\t'One JSON object per line, each carrying its root'
timeline\t'One JSON object per time read (file, update log, registry key), sorted, for Timesketch'"
complete -c kbscan -n "__fish_kbscan_using_subcommand rules" -s o -l output -d 'Write the report to FILE instead of standard output. Refused when FILE is, links to or lies inside any input; refused too when FILE exists, unless --force' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand rules" -l color -d 'Colour the table\'s verdicts: auto (only on a terminal, and not when NO_COLOR is set), always, never' -r -f -a "auto\t'Only when standard output is a terminal and NO_COLOR is not set'
always\t'Always, even into a file or a pipe'
never\t'Never'"
complete -c kbscan -n "__fish_kbscan_using_subcommand rules" -l rules -d 'Add the rules in FILE (TOML, see docs/rules.md; a regular file of at most 1 MiB); may be repeated' -r -F
complete -c kbscan -n "__fish_kbscan_using_subcommand rules" -l rule -d 'Use only the rule ID (case-insensitive; all loaded rules by default); may be repeated' -r
complete -c kbscan -n "__fish_kbscan_using_subcommand rules" -l force -d 'Replace FILE given with -o when it exists (by default an existing file is refused)'
complete -c kbscan -n "__fish_kbscan_using_subcommand rules" -l lineage -d 'Print the build lineage table (which update shipped which build) instead of the rules'
complete -c kbscan -n "__fish_kbscan_using_subcommand rules" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kbscan -n "__fish_kbscan_using_subcommand completions" -s h -l help -d 'Print help'
complete -c kbscan -n "__fish_kbscan_using_subcommand man" -s h -l help -d 'Print help'
