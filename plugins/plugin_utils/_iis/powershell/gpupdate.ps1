# webfarm.winauth remote script: refresh Group Policy on this host (gpupdate /force) and report the outcome.
# Contract: docs/remote-contract.md in the collection. The controller sends prelude.ps1 (Get-Prop,
# ConvertTo-AsciiJson) and rights_read.ps1 (Test-RightNames, Get-EffectiveRights) in front of it. Windows
# PowerShell 5.1; the request comes on $input.
# Request on stdin: {"target": "computer"|"user"|"both", "wait": seconds (0-600), "rights": [...] (1.2.0, optional:
# who holds them once the refresh is done, so a caller needs no second call to check a right arrived)}.
$WinauthScript = @{ Id = 'gpupdate'; Version = '1.2.0' }
$ErrorActionPreference = 'Stop'

$stdin = @($input) -join "`n"
$response = [ordered]@{ ok = $true; script = $WinauthScript.Id; version = $WinauthScript.Version }
$rc = 0
try {
    $request = if ($stdin.Trim() -eq '') { $null } else { ConvertFrom-Json -InputObject $stdin }
    $target = [string](Get-Prop $request 'target' 'computer')
    $wait = [int](Get-Prop $request 'wait' 600)
    $rights = @(Get-Prop $request 'rights' @())
    if ($rights.Count -gt 0 -and -not (Test-RightNames $rights)) {
        $response.ok = $false
        $response.error = [ordered]@{ code = 'invalid_request'; message = 'rights must list user right names such as SeBatchLogonRight' }
        $rc = 1
    } elseif ($target -notin 'computer', 'user', 'both' -or $wait -lt 0 -or $wait -gt 600) {
        $response.ok = $false
        $response.error = [ordered]@{ code = 'invalid_request'; message = "target must be computer, user or both and wait 0 to 600 seconds (got '$target', $wait)" }
        $rc = 1
    } else {
        $arguments = @('/force', "/wait:$wait")
        if ($target -ne 'both') { $arguments += "/target:$target" }
        $exe = Join-Path $env:windir 'System32\gpupdate.exe'
        # gpupdate asks before a log off or restart that some policies need: answer no, report it, and let the caller decide.
        $lines = @('N', 'N' | & $exe @arguments 2>&1 | ForEach-Object { "$_".TrimEnd() } | Where-Object { $_ -ne '' })
        $code = $LASTEXITCODE
        $response.result = [ordered]@{
            target = $target
            rc = $code
            succeeded = ($code -eq 0)
            restart_required = [bool]($lines -match 'restart|log ?off')
            output = $lines
        }
        if ($rights.Count -gt 0) {
            $read = Get-EffectiveRights $rights
            if ($read.ok) { $response.result.rights = $read.rights }
            else {
                $response.ok = $false
                $response.error = [ordered]@{ code = 'secedit_failed'; message = "policy was refreshed (rc $code), then $($read.message)" }
                $rc = 1
            }
        }
    }
} catch {
    $rc = 1
    $response.ok = $false
    $response.error = [ordered]@{ code = 'internal_error'; message = $_.Exception.GetBaseException().Message }
}
Write-Output (ConvertTo-AsciiJson $response)
exit $rc
