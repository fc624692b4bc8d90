function __ipcsweep_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __ipcsweep_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __ipcsweep_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __ipcsweep_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __ipcsweep_parse_tokens -S
    set -l unparsed_tokens (__ipcsweep_tokens -pc)
    switch $unparsed_tokens[1]
    case 'ipcsweep'
        __ipcsweep_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'list'
            __ipcsweep_parse_subcommand 0 'proc=' 'source=' 'all-processes-visible' 'type=+' 'name=+' 'user=+' 'key=+' 'id=+' 'verdict=+' 'idle-for=' 'unit=+' 'cgroup=+' 'pidfile=+' 'exe=+' 'exclusive' 'inherit-window=' 'namespace=' 'all-namespaces' 'format=' 'o/columns=' 'pretty' 'color=' 'no-headings' 'version' 'h/help'
        case 'show'
            __ipcsweep_parse_subcommand -r 1 'type=+' 'proc=' 'source=' 'all-processes-visible' 'unit=+' 'cgroup=+' 'pidfile=+' 'exe=+' 'exclusive' 'inherit-window=' 'namespace=' 'format=' 'o/columns=' 'pretty' 'color=' 'no-headings' 'version' 'h/help'
        case 'orphans'
            __ipcsweep_parse_subcommand 0 'proc=' 'source=' 'all-processes-visible' 'type=+' 'name=+' 'user=+' 'key=+' 'id=+' 'verdict=+' 'idle-for=' 'unit=+' 'cgroup=+' 'pidfile=+' 'exe=+' 'exclusive' 'inherit-window=' 'namespace=' 'all-namespaces' 'format=' 'o/columns=' 'pretty' 'color=' 'no-headings' 'version' 'h/help'
        case 'clean'
            __ipcsweep_parse_subcommand 0 'proc=' 'source=' 'all-processes-visible' 'type=+' 'name=+' 'user=+' 'key=+' 'id=+' 'verdict=+' 'idle-for=' 'unit=+' 'cgroup=+' 'pidfile=+' 'exe=+' 'exclusive' 'inherit-window=' 'namespace=' 'format=' 'o/columns=' 'pretty' 'color=' 'no-headings' 'dry-run' 'y/yes' 'include-suspect' 'discard-messages' 'save-to=' 'q/quiet' 'lock-file=' 'lock-wait=' 'version' 'h/help'
        case 'audit'
            __ipcsweep_parse_subcommand 0 'proc=' 'source=' 'all-processes-visible' 'type=+' 'name=+' 'user=+' 'key=+' 'id=+' 'verdict=+' 'idle-for=' 'unit=+' 'cgroup=+' 'pidfile=+' 'exe=+' 'exclusive' 'inherit-window=' 'namespace=' 'all-namespaces' 'logind-conf=' 'login-defs=' 'format=' 'output=' 'state=' 'fail-on=+' 'quiet-if-clean' 'warn-at=' 'critical-at=' 'pretty' 'shm-root=' 'mqueue-root=' 'no-posix' 'version' 'h/help'
        case 'restore'
            __ipcsweep_parse_subcommand -r 1 'format=' 'pretty' 'no-headings' 'namespace=' 'q/quiet' 'version' 'h/help'
        case 'help'
            __ipcsweep_parse_subcommand -r 1 'version'
        end
    end
end

function __ipcsweep_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __ipcsweep_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __ipcsweep_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __ipcsweep_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__ipcsweep_tokens -p)
    if test -z "$(__ipcsweep_tokens -t)"
        set -l index (count (__ipcsweep_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'ipcsweep' -f
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep" version' -l 'version' -d 'Show the version.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_positional "ipcsweep" -eq 1' -fa 'list' -d 'List every object with owner, mode, size, times, recorded pids and verdict.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_positional "ipcsweep" -eq 1' -fa 'show' -d 'Show objects in depth: each semaphore\'s value, pid and waiters; the processes attached to a segment; a queue\'s depth; the verdict with all its evidence.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_positional "ipcsweep" -eq 1' -fa 'orphans' -d 'List the objects judged orphaned or suspect, each with its reasons.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_positional "ipcsweep" -eq 1' -fa 'clean' -d 'Remove orphans that match the filters, after re-checking each one.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_positional "ipcsweep" -eq 1' -fa 'audit' -d 'Report for cron, monitoring and humans: counts, verdicts, limits and headroom, insecure objects.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_positional "ipcsweep" -eq 1' -fa 'restore' -d 'Put back what clean --save-to saved: re-create each queue (every message, its type, in order) or segment (its data, holes left as holes).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_positional "ipcsweep" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" proc' -l 'proc' -d 'Read procfs from DIR instead of /proc (tests, forensic copies).' -rfa '(__ipcsweep_complete_directories)'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" source' -l 'source' -d 'Where IPC objects are read from: auto picks the faster source that works here (the *_STAT_ANY syscalls on a live system) and falls back to the other; proc parses /proc/sysvipc/*; syscall uses semctl/shmctl/msgctl.' -rfka 'auto proc syscall'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" all-processes-visible' -l 'all-processes-visible' -d 'State that no process of another pid namespace shares the inspected IPC namespace (a test namespace, a container whose IPC namespace no one else joins). Without it, a run from a child pid namespace decides nothing on process evidence alone: a Kubernetes pod\'s other containers share its IPC namespace and /dev/shm unseen.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'type' -d 'Only this kind: sem, shm, msg, sysv (all three), posix-shm, posix-sem, posix-mq or posix (all three) (repeatable).' -rfka 'sem shm msg sysv posix-shm posix-sem posix-mq posix'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'name' -d 'Only POSIX objects whose name matches this glob, e.g. \'PostgreSQL.*\' or \'torch_*\' (repeatable; System V objects have no name).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'user' -d 'Only objects whose owner or creator is this user (name or uid; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'key' -d 'Only System V objects with this key, hex 0x... or decimal (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'id' -d 'Only System V objects with this id (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'verdict' -d 'Only this verdict: in-use, orphaned, suspect or unknown (repeatable).' -rfka 'in-use orphaned suspect unknown'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" idle-for' -l 'idle-for' -d 'Only objects with no activity for at least this long (90s, 15m, 2h, 7d).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'unit' -d 'Processes whose cgroup lies in this systemd unit (apache2 means apache2.service; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'cgroup' -d 'Processes in this cgroup path or below it (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'pidfile' -d 'The process named in FILE and its descendants (repeatable).' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list"' -l 'exe' -d 'Processes running this executable: a full path, or a name matched against the executable\'s basename and comm (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" exclusive' -l 'exclusive' -d 'The scope is the only user of the matching owners\' objects: processes outside it never count as possible holders.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" inherit-window' -l 'inherit-window' -d 'A re-parented process that started up to this long after an object\'s last activity may have inherited it (a daemonising server) and counts as a possible holder (default 5s; 0 turns it off).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" namespace' -l 'namespace' -d 'Inspect the IPC namespace of this process (a host pid) or of this namespace file (/proc/PID/ns/ipc, a bind mount such as /run/ipcns/NAME) instead of the tool\'s own; the possible holders are the processes in it.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" all-namespaces' -l 'all-namespaces' -d 'Inspect every IPC namespace a process is in (/proc/*/ns/ipc): the host\'s and each container\'s, each with its inode and owner (the unit or cgroup of its oldest process).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" format' -l 'format' -d 'Output format: table, json or csv.' -rfka 'table json csv'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" columns o' -s 'o' -l 'columns' -d 'Columns (table, CSV) or fields (JSON) to show, comma-separated: LIST replaces the defaults, +LIST adds to them, all shows every field (see COLUMNS in the manual).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" pretty' -l 'pretty' -d 'Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" color' -l 'color' -d 'Colour: auto (only on a terminal, and not when NO_COLOR is set), always or never.' -rfka 'auto always never'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" no-headings' -l 'no-headings' -d 'Print the table or CSV without its header line.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" version' -l 'version' -d 'Show the version.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show"' -l 'type' -d 'Only this kind: sem, shm, msg, sysv, posix-shm, posix-sem, posix-mq or posix (repeatable).' -rfka 'sem shm msg sysv posix-shm posix-sem posix-mq posix'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" proc' -l 'proc' -d 'Read procfs from DIR instead of /proc (tests, forensic copies).' -rfa '(__ipcsweep_complete_directories)'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" source' -l 'source' -d 'Where IPC objects are read from: auto picks the faster source that works here (the *_STAT_ANY syscalls on a live system) and falls back to the other; proc parses /proc/sysvipc/*; syscall uses semctl/shmctl/msgctl.' -rfka 'auto proc syscall'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" all-processes-visible' -l 'all-processes-visible' -d 'State that no process of another pid namespace shares the inspected IPC namespace (a test namespace, a container whose IPC namespace no one else joins). Without it, a run from a child pid namespace decides nothing on process evidence alone: a Kubernetes pod\'s other containers share its IPC namespace and /dev/shm unseen.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show"' -l 'unit' -d 'Processes whose cgroup lies in this systemd unit (apache2 means apache2.service; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show"' -l 'cgroup' -d 'Processes in this cgroup path or below it (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show"' -l 'pidfile' -d 'The process named in FILE and its descendants (repeatable).' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show"' -l 'exe' -d 'Processes running this executable: a full path, or a name matched against the executable\'s basename and comm (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" exclusive' -l 'exclusive' -d 'The scope is the only user of the matching owners\' objects: processes outside it never count as possible holders.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" inherit-window' -l 'inherit-window' -d 'A re-parented process that started up to this long after an object\'s last activity may have inherited it (a daemonising server) and counts as a possible holder (default 5s; 0 turns it off).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" namespace' -l 'namespace' -d 'Inspect the IPC namespace of this process (a host pid) or of this namespace file (/proc/PID/ns/ipc, a bind mount such as /run/ipcns/NAME) instead of the tool\'s own; the possible holders are the processes in it.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" format' -l 'format' -d 'Output format: table, json or csv.' -rfka 'table json csv'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" columns o' -s 'o' -l 'columns' -d 'Columns (table, CSV) or fields (JSON) to show, comma-separated: LIST replaces the defaults, +LIST adds to them, all shows every field (see COLUMNS in the manual).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" pretty' -l 'pretty' -d 'Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" color' -l 'color' -d 'Colour: auto (only on a terminal, and not when NO_COLOR is set), always or never.' -rfka 'auto always never'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" no-headings' -l 'no-headings' -d 'Print the table or CSV without its header line.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" version' -l 'version' -d 'Show the version.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" proc' -l 'proc' -d 'Read procfs from DIR instead of /proc (tests, forensic copies).' -rfa '(__ipcsweep_complete_directories)'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" source' -l 'source' -d 'Where IPC objects are read from: auto picks the faster source that works here (the *_STAT_ANY syscalls on a live system) and falls back to the other; proc parses /proc/sysvipc/*; syscall uses semctl/shmctl/msgctl.' -rfka 'auto proc syscall'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" all-processes-visible' -l 'all-processes-visible' -d 'State that no process of another pid namespace shares the inspected IPC namespace (a test namespace, a container whose IPC namespace no one else joins). Without it, a run from a child pid namespace decides nothing on process evidence alone: a Kubernetes pod\'s other containers share its IPC namespace and /dev/shm unseen.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'type' -d 'Only this kind: sem, shm, msg, sysv (all three), posix-shm, posix-sem, posix-mq or posix (all three) (repeatable).' -rfka 'sem shm msg sysv posix-shm posix-sem posix-mq posix'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'name' -d 'Only POSIX objects whose name matches this glob, e.g. \'PostgreSQL.*\' or \'torch_*\' (repeatable; System V objects have no name).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'user' -d 'Only objects whose owner or creator is this user (name or uid; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'key' -d 'Only System V objects with this key, hex 0x... or decimal (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'id' -d 'Only System V objects with this id (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'verdict' -d 'Only this verdict: in-use, orphaned, suspect or unknown (repeatable).' -rfka 'in-use orphaned suspect unknown'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" idle-for' -l 'idle-for' -d 'Only objects with no activity for at least this long (90s, 15m, 2h, 7d).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'unit' -d 'Processes whose cgroup lies in this systemd unit (apache2 means apache2.service; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'cgroup' -d 'Processes in this cgroup path or below it (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'pidfile' -d 'The process named in FILE and its descendants (repeatable).' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans"' -l 'exe' -d 'Processes running this executable: a full path, or a name matched against the executable\'s basename and comm (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" exclusive' -l 'exclusive' -d 'The scope is the only user of the matching owners\' objects: processes outside it never count as possible holders.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" inherit-window' -l 'inherit-window' -d 'A re-parented process that started up to this long after an object\'s last activity may have inherited it (a daemonising server) and counts as a possible holder (default 5s; 0 turns it off).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" namespace' -l 'namespace' -d 'Inspect the IPC namespace of this process (a host pid) or of this namespace file (/proc/PID/ns/ipc, a bind mount such as /run/ipcns/NAME) instead of the tool\'s own; the possible holders are the processes in it.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" all-namespaces' -l 'all-namespaces' -d 'Inspect every IPC namespace a process is in (/proc/*/ns/ipc): the host\'s and each container\'s, each with its inode and owner (the unit or cgroup of its oldest process).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" format' -l 'format' -d 'Output format: table, json or csv.' -rfka 'table json csv'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" columns o' -s 'o' -l 'columns' -d 'Columns (table, CSV) or fields (JSON) to show, comma-separated: LIST replaces the defaults, +LIST adds to them, all shows every field (see COLUMNS in the manual).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" pretty' -l 'pretty' -d 'Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" color' -l 'color' -d 'Colour: auto (only on a terminal, and not when NO_COLOR is set), always or never.' -rfka 'auto always never'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" no-headings' -l 'no-headings' -d 'Print the table or CSV without its header line.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" version' -l 'version' -d 'Show the version.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep orphans" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" proc' -l 'proc' -d 'Read procfs from DIR instead of /proc (tests, forensic copies).' -rfa '(__ipcsweep_complete_directories)'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" source' -l 'source' -d 'Where IPC objects are read from: auto picks the faster source that works here (the *_STAT_ANY syscalls on a live system) and falls back to the other; proc parses /proc/sysvipc/*; syscall uses semctl/shmctl/msgctl.' -rfka 'auto proc syscall'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" all-processes-visible' -l 'all-processes-visible' -d 'State that no process of another pid namespace shares the inspected IPC namespace (a test namespace, a container whose IPC namespace no one else joins). Without it, a run from a child pid namespace decides nothing on process evidence alone: a Kubernetes pod\'s other containers share its IPC namespace and /dev/shm unseen.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'type' -d 'Only this kind: sem, shm, msg, sysv (all three), posix-shm, posix-sem, posix-mq or posix (all three) (repeatable).' -rfka 'sem shm msg sysv posix-shm posix-sem posix-mq posix'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'name' -d 'Only POSIX objects whose name matches this glob, e.g. \'PostgreSQL.*\' or \'torch_*\' (repeatable; System V objects have no name).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'user' -d 'Only objects whose owner or creator is this user (name or uid; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'key' -d 'Only System V objects with this key, hex 0x... or decimal (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'id' -d 'Only System V objects with this id (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'verdict' -d 'Only this verdict: in-use, orphaned, suspect or unknown (repeatable).' -rfka 'in-use orphaned suspect unknown'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" idle-for' -l 'idle-for' -d 'Only objects with no activity for at least this long (90s, 15m, 2h, 7d).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'unit' -d 'Processes whose cgroup lies in this systemd unit (apache2 means apache2.service; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'cgroup' -d 'Processes in this cgroup path or below it (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'pidfile' -d 'The process named in FILE and its descendants (repeatable).' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean"' -l 'exe' -d 'Processes running this executable: a full path, or a name matched against the executable\'s basename and comm (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" exclusive' -l 'exclusive' -d 'The scope is the only user of the matching owners\' objects: processes outside it never count as possible holders.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" inherit-window' -l 'inherit-window' -d 'A re-parented process that started up to this long after an object\'s last activity may have inherited it (a daemonising server) and counts as a possible holder (default 5s; 0 turns it off).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" namespace' -l 'namespace' -d 'Inspect the IPC namespace of this process (a host pid) or of this namespace file (/proc/PID/ns/ipc, a bind mount such as /run/ipcns/NAME) instead of the tool\'s own; the possible holders are the processes in it.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" format' -l 'format' -d 'Output format: table, json or csv.' -rfka 'table json csv'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" columns o' -s 'o' -l 'columns' -d 'Columns (table, CSV) or fields (JSON) to show, comma-separated: LIST replaces the defaults, +LIST adds to them, all shows every field (see COLUMNS in the manual).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" pretty' -l 'pretty' -d 'Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" color' -l 'color' -d 'Colour: auto (only on a terminal, and not when NO_COLOR is set), always or never.' -rfka 'auto always never'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" no-headings' -l 'no-headings' -d 'Print the table or CSV without its header line.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" dry-run' -l 'dry-run' -d 'Print the plan and change nothing.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" y yes' -s 'y' -l 'yes' -d 'Remove without asking (needed when standard input is not a terminal).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" include-suspect' -l 'include-suspect' -d 'Also remove objects judged suspect (possible holders exist but none provably uses them).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" discard-messages' -l 'discard-messages' -d 'Remove message queues that still hold messages, dropping the messages.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" save-to' -l 'save-to' -d 'Before removing, save each queue\'s messages and each segment\'s or POSIX file\'s data to a file in DIR (created if missing; mode 0600 files, streamed, checked against DIR\'s free space, in place only when complete).' -rfa '(__ipcsweep_complete_directories)'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" q quiet' -s 'q' -l 'quiet' -d 'Print nothing when there is nothing to clean, and only planned objects otherwise (for ExecStopPost=); no progress.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" lock-file' -l 'lock-file' -d 'Lock this file instead of /run/ipcsweep.lock (or its fallbacks).' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" lock-wait' -l 'lock-wait' -d 'How long to wait for another clean to finish before giving up (30s, 2m).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" version' -l 'version' -d 'Show the version.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep clean" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" proc' -l 'proc' -d 'Read procfs from DIR instead of /proc (tests, forensic copies).' -rfa '(__ipcsweep_complete_directories)'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" source' -l 'source' -d 'Where IPC objects are read from: auto picks the faster source that works here (the *_STAT_ANY syscalls on a live system) and falls back to the other; proc parses /proc/sysvipc/*; syscall uses semctl/shmctl/msgctl.' -rfka 'auto proc syscall'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" all-processes-visible' -l 'all-processes-visible' -d 'State that no process of another pid namespace shares the inspected IPC namespace (a test namespace, a container whose IPC namespace no one else joins). Without it, a run from a child pid namespace decides nothing on process evidence alone: a Kubernetes pod\'s other containers share its IPC namespace and /dev/shm unseen.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'type' -d 'Only this kind: sem, shm, msg, sysv (all three), posix-shm, posix-sem, posix-mq or posix (all three) (repeatable).' -rfka 'sem shm msg sysv posix-shm posix-sem posix-mq posix'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'name' -d 'Only POSIX objects whose name matches this glob, e.g. \'PostgreSQL.*\' or \'torch_*\' (repeatable; System V objects have no name).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'user' -d 'Only objects whose owner or creator is this user (name or uid; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'key' -d 'Only System V objects with this key, hex 0x... or decimal (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'id' -d 'Only System V objects with this id (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'verdict' -d 'Only this verdict: in-use, orphaned, suspect or unknown (repeatable).' -rfka 'in-use orphaned suspect unknown'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" idle-for' -l 'idle-for' -d 'Only objects with no activity for at least this long (90s, 15m, 2h, 7d).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'unit' -d 'Processes whose cgroup lies in this systemd unit (apache2 means apache2.service; repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'cgroup' -d 'Processes in this cgroup path or below it (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'pidfile' -d 'The process named in FILE and its descendants (repeatable).' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'exe' -d 'Processes running this executable: a full path, or a name matched against the executable\'s basename and comm (repeatable).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" exclusive' -l 'exclusive' -d 'The scope is the only user of the matching owners\' objects: processes outside it never count as possible holders.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" inherit-window' -l 'inherit-window' -d 'A re-parented process that started up to this long after an object\'s last activity may have inherited it (a daemonising server) and counts as a possible holder (default 5s; 0 turns it off).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" namespace' -l 'namespace' -d 'Inspect the IPC namespace of this process (a host pid) or of this namespace file (/proc/PID/ns/ipc, a bind mount such as /run/ipcns/NAME) instead of the tool\'s own; the possible holders are the processes in it.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" all-namespaces' -l 'all-namespaces' -d 'Inspect every IPC namespace a process is in (/proc/*/ns/ipc): the host\'s and each container\'s, each with its inode and owner (the unit or cgroup of its oldest process).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" logind-conf' -l 'logind-conf' -d 'Judge RemoveIPC= from this logind.conf (its drop-ins in FILE.d), or from a root directory holding etc/systemd/logind.conf and the logind.conf.d directories, instead of the host\'s (/etc/systemd/logind.conf, /etc, /run, /usr/local/lib and /usr/lib/systemd/logind.conf.d).' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" login-defs' -l 'login-defs' -d 'Compare SYS_UID_MAX of FILE instead of /etc/login.defs with the system uid boundary systemd-logind was built with (system_uid_max in systemd.pc); FILE counts only where that systemd reads login.defs at run time.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" format' -l 'format' -d 'Output format: text (people, cron mail), json or prometheus (node_exporter textfile collector).' -rfka 'text json prometheus'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" output' -l 'output' -d 'Write the report to FILE atomically instead of standard output.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" state' -l 'state' -d 'Compare with the previous audit kept in FILE (new orphans, orphans gone, growth per day), then update FILE atomically.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit"' -l 'fail-on' -d 'Exit 3 when a finding of this class exists: orphaned, suspect, limits (a limit at or above the warning threshold), insecure, or removeipc (RemoveIPC=yes and systemd-logind would destroy objects of a non-system user at its last logout) (repeatable).' -rfka 'orphaned suspect limits insecure removeipc'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" quiet-if-clean' -l 'quiet-if-clean' -d 'Print nothing in text format when there is nothing to report.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" warn-at' -l 'warn-at' -d 'Usage at which a limit is reported as warning, in percent (above 0, at most 100).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" critical-at' -l 'critical-at' -d 'Usage at which a limit is reported as critical, in percent (above 0, at most 100).' -rfka ''
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" pretty' -l 'pretty' -d 'Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" shm-root' -l 'shm-root' -d 'Where POSIX shared memory and named semaphores live.' -rfa '(__ipcsweep_complete_directories)'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" mqueue-root' -l 'mqueue-root' -d 'Where the mqueue filesystem is mounted (default: the mqueue mount /proc/self/mountinfo lists; the report says when there is none).' -rfa '(__ipcsweep_complete_directories)'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" no-posix' -l 'no-posix' -d 'Do not look at POSIX IPC objects under --shm-root and --mqueue-root.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" version' -l 'version' -d 'Show the version.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep audit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_positional "ipcsweep restore" -ge 1' -F
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep restore" format' -l 'format' -d 'Output format: table or json.' -rfka 'table json'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep restore" pretty' -l 'pretty' -d 'Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep restore" no-headings' -l 'no-headings' -d 'Print the table without its header line.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep restore" namespace' -l 'namespace' -d 'Create the objects in the IPC namespace of this process (a host pid: System V objects and POSIX queues there, POSIX files in its /dev/shm, reached through /proc/PID/root without following links) or of this namespace file (System V objects and POSIX queues only) instead of the tool\'s own.' -rF
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep restore" q quiet' -s 'q' -l 'quiet' -d 'Show no progress (a restore that takes more than a second shows its progress on standard error when that is a terminal).'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep restore" version' -l 'version' -d 'Show the version.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep restore" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ipcsweep' -n '__ipcsweep_should_offer_completions_for_flags_or_options "ipcsweep help" version' -l 'version' -d 'Show the version.'
