#!/usr/bin/env escript
%% EMQX's own verdict on every file of a folder, to check this corpus (see README.md): one line per
%% file, "<name>\tok", "<name>\tunresolved" (a substitution no file defines: not a syntax matter) or
%% "<name>\terror\t<line>\t<reason>". Run with emqx/hocon's compiled modules on the code path:
%%   ERL_FLAGS="-pa /path/to/hocon/ebin" escript emqx_verdicts.escript accepted
main([Dir]) ->
    {ok, Names} = file:list_dir(Dir),
    lists:foreach(fun(N) -> io:format("~s\t~ts~n", [N, verdict(filename:join(Dir, N))]) end, lists:sort(Names)).

verdict(Path) ->
    {ok, Bin0} = file:read_file(Path),
    Bin = case Bin0 of <<239, 187, 191, R/binary>> -> R; _ -> Bin0 end,  % hocon_token:read/1 drops a BOM
    Out = try hocon:binary(Bin, #{format => map}) of
        {ok, _} -> "ok";
        {error, {resolve_error, _}} -> "unresolved";
        {error, {enoent, _}} -> "ok";  % an include of a file that is not here
        {error, {Kind, #{line := L} = M}} -> io_lib:format("error\t~p\t~p ~0p", [L, Kind, maps:get(reason, M, M)]);
        {error, Other} -> io_lib:format("error\t0\t~0p", [Other])
    catch C:E -> io_lib:format("error\t0\tcrash ~0p:~0p", [C, E])
    end,
    lists:flatten(string:replace(lists:flatten(Out), "\n", " ", all)).
