# webfarm.winauth remote script: a generic IIS configuration editor over Microsoft.Web.Administration.
# Contract (request and response shapes, errors): docs/remote-contract.md in the collection. The controller sends
# prelude.ps1 (Get-Prop, ConvertTo-AsciiJson), iis_values.ps1 (ConvertTo-JsonValue, ConvertTo-IisValue,
# Test-Same) and rights_read.ps1 (Test-RightNames, Get-EffectiveRights) in front of it.
# Windows PowerShell 5.1 on Windows Server 2016+; run as an administrator (reads and writes applicationHost.config).
# The controller sends it on stdin behind a small stub and pipes the JSON request to it: it reads the request
# from $input (which works over winrm, psrp and ssh) and writes one JSON response to stdout.
$WinauthScript = @{ Id = 'iis_config'; Version = '1.5.0' }
$ErrorActionPreference = 'Stop'
$LockViolation = -2147024863

function Stop-Winauth([string]$Code, [string]$Message, [hashtable]$Context) {
    $err = [ordered]@{ code = $Code; message = $Message }
    if ($Context) { foreach ($k in $Context.Keys) { if ($null -ne $Context[$k]) { $err[$k] = $Context[$k] } } }
    $ex = New-Object System.InvalidOperationException $Message
    $ex.Data['winauth'] = $err
    throw $ex
}

function Get-AttrValue($Element, [string]$Name) {
    $a = $Element.Attributes[$Name]
    if ($a.Schema.IsEncrypted) { return [string]$a.Value }
    return ConvertTo-JsonValue $a.Schema $a.Value
}

function Get-KeySchemas($ItemSchema) {
    $keys = New-Object System.Collections.ArrayList
    foreach ($s in $ItemSchema.AttributeSchemas) { if ($s.IsUniqueKey -or $s.IsCombinedKey) { [void]$keys.Add($s) } }
    return , $keys
}

# The item of an element's collection that a key object names. Unique keys (a site's name, its id): the given ones
# must match. A combined key (a binding's protocol and bindingInformation): every part, missing parts at their default.
function Find-Item($Element, $Key, [hashtable]$Where) {
    if ($null -eq $Key -or $Key -is [string] -or $Key -is [array]) { Stop-Winauth 'invalid_request' 'an item key must be an object such as {"name": "DefaultAppPool"}' $Where }
    $cs = $Element.Schema.CollectionSchema
    $itemSchema = $cs.GetAddElementSchema(($cs.AddElementNames -split ',')[0])
    $names = @($Key.PSObject.Properties | ForEach-Object { $_.Name })
    foreach ($n in $names) {
        if ($null -eq $itemSchema.AttributeSchemas[$n]) { Stop-Winauth 'unknown_attribute' "$($itemSchema.Name) has no attribute '$n'" $Where }
    }
    $keys = Get-KeySchemas $itemSchema
    $unique = @($keys | Where-Object { $_.IsUniqueKey })
    if ($unique.Count -gt 0) { $keys = @($unique | Where-Object { $names -contains $_.Name }) }
    if ($keys.Count -eq 0) { return $null }
    foreach ($item in $Element.GetCollection()) {
        $same = $true
        foreach ($ks in $keys) {
            $want = if ($names -contains $ks.Name) { ConvertTo-JsonValue $ks (ConvertTo-IisValue $ks (Get-Prop $Key $ks.Name $null) $Where) } else { ConvertTo-JsonValue $ks $ks.DefaultValue }
            if (-not (Test-Same $ks (Get-AttrValue $item $ks.Name) $want)) { $same = $false; break }
        }
        if ($same) { return $item }
    }
    return $null
}

# Walk a contract path: strings are child elements, objects are item keys of the current collection.
function Resolve-Element($Section, $Steps, [hashtable]$Where, [switch]$Quiet) {
    $el = $Section
    foreach ($step in @($Steps)) {
        if ($step -is [string]) {
            if ($null -eq $el.Schema.ChildElementSchemas[$step]) { Stop-Winauth 'unknown_element' "$($el.ElementTagName) has no child element '$step'" $Where }
            $el = $el.GetChildElement($step)
        } else {
            if ($null -eq $el.Schema.CollectionSchema) { Stop-Winauth 'not_a_collection' "$($el.ElementTagName) holds no collection" $Where }
            $item = Find-Item $el $step $Where
            if ($null -eq $item) {
                if ($Quiet) { return $null }
                Stop-Winauth 'item_not_found' "no such item in $($el.ElementTagName): $(ConvertTo-AsciiJson $step)" $Where
            }
            $el = $item
        }
    }
    return $el
}

# The section's declaration in <configSections>, and its path as declared; $null when it is not declared.
function Find-SectionDefinition($Config, [string]$Path) {
    $parts = $Path -split '/'
    $group = $Config.RootSectionGroup
    $names = New-Object System.Collections.ArrayList
    for ($i = 0; $i -lt $parts.Count - 1; $i++) {
        $group = $group.SectionGroups[$parts[$i]]
        if ($null -eq $group) { return $null }
        [void]$names.Add($group.Name)
    }
    $definition = $group.Sections[$parts[-1]]
    if ($null -eq $definition) { return $null }
    [void]$names.Add($definition.Name)
    return @{ Definition = $definition; Path = ($names -join '/') }
}

# The section at a location, after the contract's checks; the location comes back in canonical form.
function Get-Target($Manager, $Config, $Request, [switch]$Optional) {
    $path = [string](Get-Prop $Request 'section' '')
    $location = ([string](Get-Prop $Request 'location' '')).Trim().Replace('\', '/').Trim('/')
    if ($location -eq '.') { $location = '' }
    $where = @{ section = $path; location = $location }
    if ($path -eq '') { Stop-Winauth 'invalid_request' 'section must be a section path' $where }
    $found = Find-SectionDefinition $Config $path
    if ($null -eq $found) { Stop-Winauth 'unknown_section' "unknown configuration section '$path' (is the IIS feature that provides it installed?)" $where }
    $path = $found.Path
    $where.section = $path
    $allowed = [string]$found.Definition.AllowDefinition
    if ($location -ne '') {
        if ($allowed -in 'AppHostOnly', 'MachineOnly') {
            Stop-Winauth 'section_not_allowed_here' "$path can only be set for the whole server (location ''): its allowDefinition is $allowed" $where
        }
        $siteName, $rest = $location -split '/', 2
        $site = $null
        foreach ($s in $Manager.Sites) { if ($s.Name -eq $siteName) { $site = $s } }
        if ($null -eq $site -and $Optional) { return @{ Missing = $true; Path = $path; Location = $location; Where = $where } }
        if ($null -eq $site) { Stop-Winauth 'location_not_found' "no site named '$siteName' on this server (sites: $(($Manager.Sites | ForEach-Object { $_.Name }) -join ', '))" $where }
        $location = if ($rest) { "$($site.Name)/$rest" } else { $site.Name }
        $where.location = $location
    }
    $section = if ($location -eq '') { $Config.GetSection($path) } else { $Config.GetSection($path, $location) }
    $parent = $null
    if ($location -ne '') {
        $up = if ($location.Contains('/')) { $location.Substring(0, $location.LastIndexOf('/')) } else { '' }
        $parent = if ($up -eq '') { $Config.GetSection($path) } else { $Config.GetSection($path, $up) }
    }
    return @{ Missing = $false; Section = $section; Parent = $parent; Path = $path; Location = $location; Where = $where }
}

# An element as the contract's JSON; $Parent is the same element at the parent path (or $null).
function ConvertTo-ElementJson($Element, $Parent, [bool]$Deep) {
    $attributes = [ordered]@{}
    foreach ($a in $Element.Attributes) {
        $s = $a.Schema
        $entry = [ordered]@{ value = $null; source = 'local' }
        if ($s.IsEncrypted) {
            $entry.secret = $true
            try { $entry.has_value = -not [string]::IsNullOrEmpty([string]$a.Value) } catch { $entry.has_value = $true }
        } else {
            $entry.value = ConvertTo-JsonValue $s $a.Value
        }
        if ($a.IsInheritedFromDefaultValue) { $entry.source = 'default' }
        elseif ($Deep -and $null -ne $Parent) {
            try { if (Test-Same $s (Get-AttrValue $Parent $a.Name) (Get-AttrValue $Element $a.Name)) { $entry.source = 'inherited' } } catch { }
        }
        try { if ([bool]$a.GetMetadata('isLocked')) { $entry.locked = $true } } catch { }
        $attributes[$a.Name] = $entry
    }
    $children = [ordered]@{}
    foreach ($c in $Element.ChildElements) {
        $pc = if ($null -ne $Parent) { $Parent.GetChildElement($c.ElementTagName) } else { $null }
        $children[$c.ElementTagName] = ConvertTo-ElementJson $c $pc $Deep
    }
    $result = [ordered]@{ attributes = $attributes; children = $children }
    if ($null -ne $Element.Schema.CollectionSchema) {
        $items = New-Object System.Collections.ArrayList
        $keys = $null
        foreach ($item in $Element.GetCollection()) {
            if ($null -eq $keys) { $keys = Get-KeySchemas $item.Schema }
            $pitem = $null
            if ($null -ne $Parent) {
                foreach ($candidate in $Parent.GetCollection()) {
                    $same = $true
                    foreach ($ks in $keys) { if (-not (Test-Same $ks (Get-AttrValue $candidate $ks.Name) (Get-AttrValue $item $ks.Name))) { $same = $false; break } }
                    if ($same) { $pitem = $candidate; break }
                }
            }
            $entry = ConvertTo-ElementJson $item $pitem ($Deep -and $null -ne $pitem)
            $entry.inherited = ($null -ne $pitem)
            [void]$items.Add($entry)
        }
        $result.items = $items
    }
    return $result
}

# One read entry at the target's location: the element at its path and the host-side secret comparisons.
function Read-Target($T, $Request) {
    $steps = @(Get-Prop $Request 'path' @())
    $el = Resolve-Element $T.Section $steps $T.Where -Quiet
    $pel = if ($null -ne $T.Parent -and $null -ne $el) { Resolve-Element $T.Parent $steps $T.Where -Quiet } else { $null }
    $out = [ordered]@{ section = $T.Path; location = $T.Location; override_mode_effective = [string]$T.Section.OverrideModeEffective; path = $steps; found = ($null -ne $el); element = $null; compare = @() }
    if ($null -ne $el) { $out.element = ConvertTo-ElementJson $el $pel ($T.Location -ne '') }
    $answers = New-Object System.Collections.ArrayList
    foreach ($c in @(Get-Prop $Request 'compare' @())) {
        $csteps = @(Get-Prop $c 'path' @())
        $name = [string](Get-Prop $c 'attribute' '')
        $target = Resolve-Element $T.Section $csteps $T.Where -Quiet
        $answer = [ordered]@{ path = $csteps; attribute = $name; found = ($null -ne $target); equal = $false }
        if ($null -ne $target) {
            $a = $target.Attributes[$name]
            if ($null -eq $a) { Stop-Winauth 'unknown_attribute' "$($target.ElementTagName) has no attribute '$name'" $T.Where }
            $want = [string](Get-Prop $c 'value' '')
            $have = if ($a.Schema.IsEncrypted) { [string]$a.Value } else { [string](ConvertTo-JsonValue $a.Schema $a.Value) }
            $answer.equal = [bool](Test-Same $a.Schema $have $want)
        }
        [void]$answers.Add($answer)
    }
    $out.compare = $answers
    return $out
}

# The application pool or site a runtime read or edit addresses (section, location '' and a path of one name key).
function Get-RuntimeObject($Manager, $Request, [hashtable]$Where) {
    $section = [string](Get-Prop $Request 'section' '')
    $steps = @(Get-Prop $Request 'path' @())
    $location = ([string](Get-Prop $Request 'location' '')).Trim().Trim('/')
    $name = if ($steps.Count -eq 1) { [string](Get-Prop $steps[0] 'name' '') } else { '' }
    $pools = 'system.applicationHost/applicationPools'
    if ($location -ne '' -or $name -eq '' -or $section -notin $pools, 'system.applicationHost/sites') {
        Stop-Winauth 'invalid_request' "runtime state needs section $pools or system.applicationHost/sites, location '' and a path of one name key" $Where
    }
    $isPool = $section -eq $pools
    $collection = if ($isPool) { $Manager.ApplicationPools } else { $Manager.Sites }
    foreach ($o in $collection) { if ($o.Name -eq $name) { return @{ Object = $o; Pool = $isPool; Name = $o.Name } } }
    return @{ Object = $null; Pool = $isPool; Name = $name }
}

function Get-ObjectState($Object) {
    if ($null -eq $Object) { return $null }
    try { return [string]$Object.State } catch { return 'Unknown' }
}

# One read entry: the target's element, its applications and its runtime state as asked for.
function Read-Section($Manager, $Config, $r) {
    $t = Get-Target $Manager $Config $r -Optional:([bool](Get-Prop $r 'location_optional' $false))
    if ($t.Missing) {
        # 1.1.0: an optional location whose site does not exist reads as absent.
        $answers = New-Object System.Collections.ArrayList
        foreach ($c in @(Get-Prop $r 'compare' @())) {
            [void]$answers.Add([ordered]@{ path = @(Get-Prop $c 'path' @()); attribute = [string](Get-Prop $c 'attribute' ''); found = $false; equal = $false })
        }
        return [ordered]@{ section = $t.Path; location = $t.Location; override_mode_effective = ''; path = @(Get-Prop $r 'path' @()); found = $false; location_found = $false; element = $null; compare = $answers }
    }
    $out = Read-Target $t $r
    if ([bool](Get-Prop $r 'each_application' $false)) {
        if ($t.Location -ne '') { Stop-Winauth 'invalid_request' "each_application reads every application's path: give location ''" $t.Where }
        $apps = New-Object System.Collections.ArrayList
        foreach ($site in $Manager.Sites) {
            foreach ($app in $site.Applications) {
                $loc = if ($app.Path -eq '/') { $site.Name } else { $site.Name + $app.Path }
                $sub = [pscustomobject]@{ section = $t.Path; location = $loc; path = @(Get-Prop $r 'path' @()) }
                [void]$apps.Add((Read-Target (Get-Target $Manager $Config $sub) $sub))
            }
        }
        $out.applications = $apps
    }
    if ([bool](Get-Prop $r 'state' $false)) { $out.state = Get-ObjectState (Get-RuntimeObject $Manager $r $t.Where).Object }
    return $out
}

# 1.3.0: a digest of the configuration a read entry saw (not the secret comparisons, not the runtime state, which
# WAS changes itself), which the apply checks again.
function Get-Fingerprint($Out) {
    $seen = [ordered]@{}
    foreach ($k in @($Out.Keys)) { if ($k -notin 'compare', 'fingerprint', 'state') { $seen[$k] = $Out[$k] } }
    $sha = [Security.Cryptography.SHA256]::Create()
    try { $bytes = $sha.ComputeHash([Text.Encoding]::UTF8.GetBytes((ConvertTo-AsciiJson $seen))) } finally { $sha.Dispose() }
    return 'sha256:' + (($bytes | ForEach-Object { $_.ToString('x2') }) -join '')
}

function Invoke-Read($Manager, $Config, $Request) {
    $sections = New-Object System.Collections.ArrayList
    foreach ($r in @(Get-Prop $Request 'sections' @())) {
        $out = Read-Section $Manager $Config $r
        $out.fingerprint = Get-Fingerprint $out
        [void]$sections.Add($out)
    }
    $result = @{ sections = $sections }
    # 1.4.0: the holders of user rights in the same call (a node's whole state in one read).
    $rights = @(Get-Prop $Request 'rights' @())
    if ($null -ne (Get-Prop $Request 'rights' $null)) {
        if (-not (Test-RightNames $rights)) { Stop-Winauth 'invalid_request' 'rights must list user right names such as SeBatchLogonRight' @{} }
        $read = Get-EffectiveRights $rights
        if (-not $read.ok) { Stop-Winauth 'secedit_failed' $read.message @{} }
        $result.rights = $read.rights
    }
    return $result
}

# 1.3.0: before any edit, each target the plan was made from must read as it did (its fingerprint); else nothing is
# written and the caller reads and plans again.
function Assert-Unchanged($Manager, $Config, $Request) {
    foreach ($x in @(Get-Prop $Request 'expect' @())) {
        $now = Read-Section $Manager $Config $x
        if ((Get-Fingerprint $now) -ne [string](Get-Prop $x 'fingerprint' '')) {
            Stop-Winauth 'changed_since_read' 'it changed on this host after the task read it (another run or an administrator edited it); nothing was written' @{ section = $now.section; location = $now.location; path = @(Get-Prop $x 'path' @()) }
        }
    }
}

# Start, stop or recycle a pool or site after the commit. WAS may need a moment to see a pool committed a moment
# ago: retry for up to 10 seconds then. A refusal becomes runtime_failed, naming whether the configuration was committed.
function Invoke-Runtime($Manager, $Edit, [string]$Op, [bool]$Committed, [hashtable]$Where) {
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ($true) {
        try {
            $found = Get-RuntimeObject $Manager $Edit $Where
            $label = if ($found.Pool) { 'application pool' } else { 'site' }
            if ($null -eq $found.Object) { Stop-Winauth 'item_not_found' "no $label named '$($found.Name)'" $Where }
            $result = [ordered]@{ index = $Where.edit; changed = $false; before = (Get-ObjectState $found.Object) }
            if ($Op -eq 'start' -and $result.before -notin 'Started', 'Starting') { [void]$found.Object.Start(); $result.changed = $true }
            elseif ($Op -eq 'stop' -and $result.before -notin 'Stopped', 'Stopping') { [void]$found.Object.Stop(); $result.changed = $true }
            elseif ($Op -eq 'recycle') {
                if (-not $found.Pool) { Stop-Winauth 'invalid_request' 'only application pools can be recycled' $Where }
                if ($result.before -ne 'Started') { Stop-Winauth 'runtime_failed' "cannot recycle $label '$($found.Name)': it is $($result.before) (start it instead)" $Where }
                [void]$found.Object.Recycle(); $result.changed = $true
            }
            $result.after = Get-ObjectState $found.Object
            return $result
        } catch {
            $retry = $Committed -and [DateTime]::UtcNow -lt $deadline
            if ($_.Exception.Data.Contains('winauth')) {
                if (-not ($retry -and $_.Exception.Data['winauth'].code -eq 'item_not_found')) { throw }
            } elseif (-not $retry) {
                $refusal = $_.Exception.GetBaseException()
                Stop-Winauth 'runtime_failed' $refusal.Message $Where
            }
            Start-Sleep -Milliseconds 250
            $Manager = New-Object Microsoft.Web.Administration.ServerManager
        }
    }
}

# Run one Microsoft.Web.Administration change: its refusals become invalid_value, or section_locked for a lock violation.
function Invoke-Change([scriptblock]$Change, [hashtable]$Where) {
    try {
        & $Change
    } catch {
        if ($_.Exception.Data.Contains('winauth')) { throw }
        $base = $_.Exception.GetBaseException()
        $code = if ($base.HResult -eq $LockViolation) { 'section_locked' } else { 'invalid_value' }
        Stop-Winauth $code $base.Message $Where
    }
}

function Invoke-Apply($Manager, $Config, $Request) {
    Assert-Unchanged $Manager $Config $Request
    $results = New-Object System.Collections.ArrayList
    $targets = @{}
    $index = 0
    $runtime = New-Object System.Collections.ArrayList
    foreach ($e in @(Get-Prop $Request 'edits' @())) {
        $rop = [string](Get-Prop $e 'op' '')
        if ($rop -in 'start', 'stop', 'recycle') {
            # Runtime edits run after the commit, in order; check how they are addressed now.
            $rwhere = @{ section = [string](Get-Prop $e 'section' ''); path = @(Get-Prop $e 'path' @()); edit = $index }
            if ((Get-RuntimeObject $Manager $e $rwhere).Pool -eq $false -and $rop -eq 'recycle') {
                Stop-Winauth 'invalid_request' 'only application pools can be recycled' $rwhere
            }
            [void]$runtime.Add(@{ Edit = $e; Op = $rop.ToLowerInvariant(); Where = $rwhere })
            $index++
            continue
        }
        try {
            $key = "$(Get-Prop $e 'section' '')|$(Get-Prop $e 'location' '')"
            if (-not $targets.ContainsKey($key)) { $targets[$key] = Get-Target $Manager $Config $e }
            $t = $targets[$key]
            $steps = @(Get-Prop $e 'path' @())
            $where = @{ section = $t.Path; location = $t.Location; path = $steps; edit = $index }
            $el = Resolve-Element $t.Section $steps $where
            $op = [string](Get-Prop $e 'op' '')
            $result = [ordered]@{ index = $index; changed = $false }
            if ($op -eq 'set') {
                $name = [string](Get-Prop $e 'attribute' '')
                $where.attribute = $name
                $s = $el.Schema.AttributeSchemas[$name]
                if ($null -eq $s) { Stop-Winauth 'unknown_attribute' "$($el.ElementTagName) has no attribute '$name'" $where }
                $name = $s.Name
                $value = ConvertTo-IisValue $s (Get-Prop $e 'value' $null) $where
                if ($s.IsEncrypted) {
                    $result.secret = $true
                    $result.changed = -not (Test-Same $s ([string]$el.Attributes[$name].Value) ([string]$value))
                } else {
                    $result.before = Get-AttrValue $el $name
                    $result.after = ConvertTo-JsonValue $s $value
                    $result.changed = -not (Test-Same $s $result.before $result.after)
                }
                if ($result.changed) { Invoke-Change { $el.SetAttributeValue($name, $value) } $where }
            } elseif ($op -in 'add', 'remove', 'clear') {
                if ($null -eq $el.Schema.CollectionSchema) { Stop-Winauth 'not_a_collection' "$($el.ElementTagName) holds no collection" $where }
                $coll = $el.GetCollection()
                if ($op -eq 'add') {
                    $given = Get-Prop $e 'item' $null
                    if ($null -eq $given) { Stop-Winauth 'invalid_request' 'add needs item: the new item''s attributes' $where }
                    if ($null -ne (Find-Item $el $given $where)) { Stop-Winauth 'duplicate_key' "$($el.ElementTagName) already holds an item with this key: $(ConvertTo-AsciiJson $given)" $where }
                    $new = $coll.CreateElement(($el.Schema.CollectionSchema.AddElementNames -split ',')[0])
                    foreach ($p in $given.PSObject.Properties) {
                        $s = $new.Schema.AttributeSchemas[$p.Name]
                        if ($null -eq $s) { Stop-Winauth 'unknown_attribute' "$($new.ElementTagName) has no attribute '$($p.Name)'" $where }
                        $v = ConvertTo-IisValue $s $p.Value $where
                        Invoke-Change { $new.SetAttributeValue($s.Name, $v) } $where
                    }
                    Invoke-Change { [void]$coll.Add($new) } $where
                    $result.changed = $true
                } elseif ($op -eq 'remove') {
                    $item = Find-Item $el (Get-Prop $e 'key' $null) $where
                    if ($null -ne $item) {
                        Invoke-Change { $coll.Remove($item) } $where
                        $result.changed = $true
                    }
                } elseif ($coll.Count -gt 0) {
                    Invoke-Change { $coll.Clear() } $where
                    $result.changed = $true
                }
            } elseif ($op -eq 'revert') {
                # Delete the attribute at this level: the parent path's value, or the schema default, applies again.
                $name = [string](Get-Prop $e 'attribute' '')
                $where.attribute = $name
                $a = $el.Attributes[$name]
                if ($null -eq $a) { Stop-Winauth 'unknown_attribute' "$($el.ElementTagName) has no attribute '$name'" $where }
                $pel = if ($null -ne $t.Parent) { Resolve-Element $t.Parent $steps $where -Quiet } else { $null }
                if ($a.Schema.IsEncrypted) {
                    $result.secret = $true
                    $result.changed = -not [string]::IsNullOrEmpty([string]$a.Value)
                } else {
                    $result.before = Get-AttrValue $el $a.Name
                    $same = $null -ne $pel -and (Test-Same $a.Schema (Get-AttrValue $pel $a.Name) $result.before)
                    $result.changed = -not $a.IsInheritedFromDefaultValue -and -not $same
                }
                if ($result.changed) { Invoke-Change { $a.Delete() } $where }
            } else {
                Stop-Winauth 'invalid_request' "unknown edit op '$op' (set, revert, add, remove, clear, start, stop, recycle)" $where
            }
            [void]$results.Add($result)
        } catch {
            # Errors found before the edit's own context was known (section, location) still name the edit.
            if ($_.Exception.Data.Contains('winauth') -and -not $_.Exception.Data['winauth'].Contains('edit')) {
                $_.Exception.Data['winauth']['edit'] = $index
            }
            throw
        }
        $index++
    }
    $committed = @($results | Where-Object { $_.changed }).Count -gt 0
    if ($committed) { Invoke-Change { $Manager.CommitChanges() } @{} }
    if ($runtime.Count -gt 0) {
        $live = if ($committed) { New-Object Microsoft.Web.Administration.ServerManager } else { $Manager }
        foreach ($rt in $runtime) {
            $rt.Where.committed = $committed
            [void]$results.Add((Invoke-Runtime $live $rt.Edit $rt.Op $committed $rt.Where))
        }
    }
    $sorted = @($results | Sort-Object { $_.index })
    $changed = @($sorted | Where-Object { $_.changed }).Count -gt 0
    return [ordered]@{ changed = $changed; committed = $committed; results = $sorted }
}

$stdin = @($input) -join "`n"
$response = [ordered]@{ ok = $true; script = $WinauthScript.Id; version = $WinauthScript.Version }
$rc = 0
try {
    if ($stdin.Trim() -eq '') { Stop-Winauth 'invalid_request' 'no request on stdin' @{} }
    $request = ConvertFrom-Json -InputObject $stdin
    try {
        Add-Type -AssemblyName 'Microsoft.Web.Administration, Version=7.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35'
    } catch {
        $dll = Join-Path $env:windir 'System32\inetsrv\Microsoft.Web.Administration.dll'
        if (-not (Test-Path -LiteralPath $dll)) { Stop-Winauth 'iis_not_installed' 'IIS (the Web-Server role with its management APIs) is not installed on this host' @{} }
        Add-Type -LiteralPath $dll
    }
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $config = $manager.GetApplicationHostConfiguration()
    $op = [string](Get-Prop $request 'op' '')
    if ($op -eq 'read') { $response.result = Invoke-Read $manager $config $request }
    elseif ($op -eq 'apply') { $response.result = Invoke-Apply $manager $config $request }
    else { Stop-Winauth 'invalid_request' "unknown op '$op' (read, apply)" @{} }
} catch {
    $rc = 1
    $response.ok = $false
    if ($_.Exception.Data.Contains('winauth')) { $response.error = $_.Exception.Data['winauth'] }
    else { $response.error = [ordered]@{ code = 'internal_error'; message = $_.Exception.GetBaseException().Message } }
}
Write-Output (ConvertTo-AsciiJson $response)
exit $rc
