# fish TAB completion for opencode (written by 'opencode --show-completion fish').
function __opencode_complete_ask --description 'Ask opencode for TAB candidates, once per TAB'
    set -g __opencode_candidates (env _OPENCODE_COMPLETE=complete_fish \
        _TYPER_COMPLETE_FISH_ACTION=get-args _TYPER_COMPLETE_ARGS=(commandline -cp) \
        opencode | string match -v '')
    set -q __opencode_candidates[1]
end

complete --command opencode --no-files --keep-order \
    --condition __opencode_complete_ask --arguments '$__opencode_candidates'
