# webfarm.winauth remote script: the effective holders of user rights on this host, as SIDs and names.
# Contract: docs/remote-contract.md in the collection. The controller sends prelude.ps1 (Get-Prop,
# ConvertTo-AsciiJson) and rights_read.ps1 (Test-RightNames, Get-EffectiveRights) in front of it. Windows
# PowerShell 5.1; the request comes on $input.
# Request on stdin: {"rights": ["SeBatchLogonRight", ...]}. Uses secedit /export /mergedpolicy (local and domain
# policy as applied), so it needs an administrator.
$WinauthScript = @{ Id = 'user_rights'; Version = '1.2.0' }
$ErrorActionPreference = 'Stop'

$stdin = @($input) -join "`n"
$response = [ordered]@{ ok = $true; script = $WinauthScript.Id; version = $WinauthScript.Version }
$rc = 0
try {
    $request = if ($stdin.Trim() -eq '') { $null } else { ConvertFrom-Json -InputObject $stdin }
    $rights = @(Get-Prop $request 'rights' @())
    $read = if (Test-RightNames $rights) { Get-EffectiveRights $rights } else { $null }
    if ($null -eq $read) {
        $response.ok = $false
        $response.error = [ordered]@{ code = 'invalid_request'; message = 'rights must list user right names such as SeBatchLogonRight' }
        $rc = 1
    } elseif (-not $read.ok) {
        $response.ok = $false
        $response.error = [ordered]@{ code = 'secedit_failed'; message = $read.message }
        $rc = 1
    } else {
        $response.result = [ordered]@{ rights = $read.rights; source = 'secedit /export /mergedpolicy' }
    }
} catch {
    $rc = 1
    $response.ok = $false
    $response.error = [ordered]@{ code = 'internal_error'; message = $_.Exception.GetBaseException().Message }
}
Write-Output (ConvertTo-AsciiJson $response)
exit $rc
