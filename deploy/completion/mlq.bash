# bash completion for mlq (installed as
# /usr/share/bash-completion/completions/mlq).
#
# Everything comes from the program itself: the commands from `mlq --help`,
# each command's options from `mlq CMD --help`, job ids from `mlq list
# --json` and worker names from `mlq workers --json`. The last two ask the
# scheduler (with the --scheduler/--insecure given on the command line)
# with a one-second timeout and no error output, so that a scheduler that
# is down never hangs or clutters the shell.
#
# COMPREPLY=($(compgen ...)) splits on purpose: candidates never hold blanks.
# shellcheck disable=SC2207

# _mlq_commands MLQ: the commands `MLQ --help` lists.
_mlq_commands()
{
    "$1" --help 2>/dev/null | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
}

# _mlq_options MLQ [CMD]: the long options of `MLQ [CMD] --help`.
_mlq_options()
{
    "$@" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

# _mlq_ask FIELD MLQ ARGS...: FIELD of each top-level object of the JSON
# answer of `MLQ ARGS...` (the CLI prints one key a line, indented by two).
_mlq_ask()
{
    local field=$1
    shift
    "$@" 2>/dev/null | sed -n "s/^      \"$field\": \"\([^\"]*\)\".*/\1/p"
}

_mlq()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local mlq=${COMP_WORDS[0]}
    local cmd="" sub="" sub2="" npos=0 glob=() i w
    # The command is the first word that is no option or option value;
    # --scheduler and --insecure are kept for the questions to the scheduler.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case "$w" in
        --scheduler)
            glob+=(--scheduler "${COMP_WORDS[i + 1]}")
            i=$((i + 1))
            ;;
        --scheduler=*) glob+=("$w") ;;
        --timeout) i=$((i + 1)) ;;
        --insecure) glob+=(--insecure) ;;
        --) [ -n "$cmd" ] && return 0 ;; # a job's command line: files
        -*) ;;
        *)
            npos=$((npos + 1))
            if [ -z "$cmd" ]; then
                cmd=$w
            elif [ -z "$sub" ]; then
                sub=$w
            elif [ -z "$sub2" ]; then
                sub2=$w
            fi
            ;;
        esac
    done
    local ask=("$mlq" "${glob[@]}" --timeout 1s)

    # Values of options.
    case "$prev" in
    --scheduler | --timeout | --name | --reason | --env | --cron | --limit | --cpus | --mem | --gpus)
        return 0
        ;;
    --key | --out | --config | --state-dir | --workdir | --stdin | --file | --input | --output)
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
        ;;
    --state)
        COMPREPLY=($(compgen -W "PENDING ASSIGNED RUNNING SUCCEEDED FAILED CANCELLED TIMED_OUT" -- "$cur"))
        return 0
        ;;
    esac

    if [ -z "$cmd" ]; then
        if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "$(_mlq_options "$mlq")" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_mlq_commands "$mlq")" -- "$cur"))
        fi
        return 0
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(_mlq_options "$mlq" "$cmd")" -- "$cur"))
        return 0
    fi
    local words=""
    case "$cmd" in
    status | cancel | logs | wait | why | manifest | diff | hold | release | update | rerun)
        words=$(_mlq_ask id "${ask[@]}" list --json)
        ;;
    drain | resume)
        [ -z "$sub" ] && words=$(_mlq_ask name "${ask[@]}" workers --json)
        ;;
    schedule)
        if [ -z "$sub" ]; then
            words="add list show pause resume rm run-now"
        elif [ -z "$sub2" ] && [ "$sub" != add ] && [ "$sub" != list ]; then
            words=$(_mlq_ask name "${ask[@]}" schedule list --json)
        fi
        ;;
    admin)
        if [ -z "$sub" ]; then
            words="user worker users team teams quota token tokens metrics"
        elif [ -z "$sub2" ]; then
            case "$sub" in
            user) words="add set rm" ;;
            worker) words="add rm set" ;;
            team | token) words="add rm" ;;
            quota) words="set show rm" ;;
            esac
        elif [ "$sub" = quota ] && [ "$npos" -eq 3 ]; then
            words=$(_mlq_ask name "${ask[@]}" admin teams --json)
        elif [ "$sub" = worker ] && [ "$sub2" = rm ] && [ "$npos" -eq 3 ]; then
            words=$(_mlq_ask name "${ask[@]}" workers --json)
        fi
        ;;
    help)
        words=$(_mlq_commands "$mlq")
        ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    return 0
}

complete -o default -F _mlq mlq
