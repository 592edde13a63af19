# bash TAB completion for opencode (written by 'opencode --show-completion bash').
# bash-completion loads it from its completions folder; or source it from ~/.bashrc.
_opencode_completion() {
    local IFS=$'\n'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _OPENCODE_COMPLETE=complete_bash "$1" ) )
    return 0
}

# nosort (bash 4.4+) keeps the most recent session first.
complete -o default -o nosort -F _opencode_completion opencode 2>/dev/null ||
    complete -o default -F _opencode_completion opencode
