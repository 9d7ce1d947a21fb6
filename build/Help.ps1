# Help generation for build.ps1: platyPS-style markdown (docs/*.md) to MAML XML and about_*.help.txt.
# Parses with ConvertFrom-Markdown (its Tokens are a Markdig syntax tree); needs nothing but pwsh 7.
# Dot-source it, then call ConvertTo-MamlHelp and ConvertTo-AboutHelpText.

Set-StrictMode -Version 3.0

#region Markdown model

# Text of an inline tree, markup removed (code spans keep their text, links keep their text).
function Get-MdInlineText {
    param($Inline)
    $sb = [System.Text.StringBuilder]::new()
    Add-MdInlineText -Builder $sb -Node $Inline
    $sb.ToString()
}

function Add-MdInlineText {
    param([System.Text.StringBuilder] $Builder, $Node)
    if ($null -eq $Node) { return }
    if ($Node -is [Markdig.Syntax.Inlines.LiteralInline]) { [void]$Builder.Append($Node.Content.ToString()) }
    elseif ($Node -is [Markdig.Syntax.Inlines.CodeInline]) { [void]$Builder.Append($Node.Content) }
    elseif ($Node -is [Markdig.Syntax.Inlines.LineBreakInline]) { [void]$Builder.Append($(if ($Node.IsHard) { "`n" } else { ' ' })) }
    elseif ($Node -is [Markdig.Syntax.Inlines.AutolinkInline]) { [void]$Builder.Append($Node.Url) }
    elseif ($Node -is [Markdig.Syntax.Inlines.HtmlEntityInline]) { [void]$Builder.Append($Node.Transcoded.ToString()) }
    elseif ($Node -is [Markdig.Syntax.Inlines.HtmlInline]) { [void]$Builder.Append($Node.Tag) }
    elseif ($Node -is [Markdig.Syntax.Inlines.ContainerInline]) {
        foreach ($child in $Node) { Add-MdInlineText -Builder $Builder -Node $child }
    }
    else { [void]$Builder.Append($Node.ToString()) }
}

# Links of an inline tree, as @{ Text; Uri }.
function Get-MdLink {
    param($Inline)
    if ($null -eq $Inline) { return }
    if ($Inline -is [Markdig.Syntax.Inlines.LinkInline]) {
        [pscustomobject]@{ Text = (Get-MdInlineText $Inline); Uri = [string]$Inline.Url }
    }
    elseif ($Inline -is [Markdig.Syntax.Inlines.AutolinkInline]) {
        [pscustomobject]@{ Text = [string]$Inline.Url; Uri = [string]$Inline.Url }
    }
    elseif ($Inline -is [Markdig.Syntax.Inlines.ContainerInline]) {
        foreach ($child in $Inline) { Get-MdLink $child }
    }
}

# Turns Markdig blocks into a flat list of "chunks": Text (a paragraph), Code (a fenced or indented
# code block: Lines, Info), List (Items: text per item), Table (Rows: array of cell texts, first row = header).
function ConvertTo-MdChunk {
    param([object[]] $Blocks)
    foreach ($block in $Blocks) {
        if ($block -is [Markdig.Syntax.ParagraphBlock]) {
            [pscustomobject]@{ Kind = 'Text'; Text = (Get-MdInlineText $block.Inline).Trim(); Block = $block }
        }
        elseif ($block -is [Markdig.Syntax.CodeBlock]) {
            $info = if ($block -is [Markdig.Syntax.FencedCodeBlock]) { [string]$block.Info } else { '' }
            $lines = @($block.Lines.Lines | Select-Object -First $block.Lines.Count | ForEach-Object { $_.ToString() })
            [pscustomobject]@{ Kind = 'Code'; Info = $info; Lines = $lines; Text = ($lines -join "`n"); Block = $block }
        }
        elseif ($block -is [Markdig.Syntax.ListBlock]) {
            $items = foreach ($item in $block) {
                (@(ConvertTo-MdChunk @($item)) | ForEach-Object Text) -join ' '
            }
            [pscustomobject]@{ Kind = 'List'; Items = @($items); Ordered = $block.IsOrdered; Block = $block }
        }
        elseif ($block -is [Markdig.Extensions.Tables.Table]) {
            $rows = foreach ($row in $block) {
                , @(foreach ($cell in $row) { (@(ConvertTo-MdChunk @($cell)) | ForEach-Object Text) -join ' ' })
            }
            [pscustomobject]@{ Kind = 'Table'; Rows = @($rows); Block = $block }
        }
        elseif ($block -is [Markdig.Syntax.QuoteBlock]) {
            ConvertTo-MdChunk @($block)
        }
        elseif ($block -is [Markdig.Syntax.HeadingBlock]) {
            [pscustomobject]@{ Kind = 'Text'; Text = (Get-MdInlineText $block.Inline).Trim(); Block = $block }
        }
        elseif ($block -is [Markdig.Syntax.ContainerBlock]) {
            ConvertTo-MdChunk @($block)
        }
        # Thematic breaks, link reference definitions, HTML blocks: nothing to show.
    }
}

# Splits a document into sections by heading: @{ Level; Title; Blocks; Children }.
# Blocks are those between the heading and the next heading of any level.
function Get-MdSection {
    param([Parameter(Mandatory)] [string] $Markdown)
    $text = $Markdown -replace "`r`n", "`n"
    # platyPS front matter (--- ... ---) is metadata, not help text.
    if ($text -match '^(?s)---\n.*?\n---\n') { $text = $text.Substring($Matches[0].Length) }
    $document = (ConvertFrom-Markdown -InputObject $text).Tokens
    $root = [pscustomobject]@{ Level = 0; Title = ''; Blocks = [System.Collections.Generic.List[object]]::new(); Children = [System.Collections.Generic.List[object]]::new() }
    $stack = [System.Collections.Generic.List[object]]::new()
    $stack.Add($root)
    foreach ($block in $document) {
        if ($block -is [Markdig.Syntax.HeadingBlock]) {
            $section = [pscustomobject]@{
                Level = $block.Level; Title = (Get-MdInlineText $block.Inline).Trim()
                Blocks = [System.Collections.Generic.List[object]]::new(); Children = [System.Collections.Generic.List[object]]::new()
            }
            while ($stack[$stack.Count - 1].Level -ge $block.Level) { $stack.RemoveAt($stack.Count - 1) }
            $stack[$stack.Count - 1].Children.Add($section)
            $stack.Add($section)
        }
        else {
            $stack[$stack.Count - 1].Blocks.Add($block)
        }
    }
    $root
}

function Find-MdSection {
    param($Parent, [string] $Title)
    $Parent.Children | Where-Object { $_.Title -eq $Title } | Select-Object -First 1
}

#endregion

#region MAML

$script:MamlNs = @{
    msh     = 'http://msh'
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
    MSHelp  = 'http://msdn.microsoft.com/mshelp'
}

# Writes chunks as maml:para elements. Code and tables keep their line breaks (Get-Help keeps them);
# a list becomes one paragraph per item.
function Write-MamlPara {
    param([System.Xml.XmlWriter] $Writer, [object[]] $Chunks)
    $paras = foreach ($chunk in $Chunks) {
        switch ($chunk.Kind) {
            'Text' { $chunk.Text }
            'Code' { ($chunk.Lines | ForEach-Object { "    $_" }) -join "`n" }
            'List' {
                $n = 0
                foreach ($item in $chunk.Items) { $n++; if ($chunk.Ordered) { "$n. $item" } else { "- $item" } }
            }
            'Table' { (Format-TextTable -Rows $chunk.Rows) -join "`n" }
        }
    }
    $paras = @($paras | Where-Object { $_ })
    if ($paras.Count -eq 0) { $paras = @('') }
    foreach ($para in $paras) {
        $Writer.WriteElementString('maml', 'para', $script:MamlNs.maml, $para)
    }
}

function Write-MamlDescription {
    param([System.Xml.XmlWriter] $Writer, [object[]] $Chunks)
    $Writer.WriteStartElement('maml', 'description', $script:MamlNs.maml)
    Write-MamlPara -Writer $Writer -Chunks $Chunks
    $Writer.WriteEndElement()
}

# Aligned plain-text table (first row is the header). When a row is wider than Width, its last
# column wraps under itself.
function Format-TextTable {
    param([object[]] $Rows, [string] $Indent = '', [int] $Width = 0)
    if (-not $Rows) { return }
    $columns = ($Rows | ForEach-Object { $_.Count } | Measure-Object -Maximum).Maximum
    $widths = @(foreach ($c in 0..($columns - 1)) {
            ($Rows | ForEach-Object { if ($c -lt $_.Count) { $_[$c].Length } else { 0 } } | Measure-Object -Maximum).Maximum
        })
    $lead = $Indent.Length + (($widths | Select-Object -First ($columns - 1) | ForEach-Object { $_ + 2 }) | Measure-Object -Sum).Sum
    if ($Width -gt 0 -and $lead + $widths[$columns - 1] -gt $Width -and $Width - $lead -ge 20) {
        $widths[$columns - 1] = $Width - $lead
    }
    $lines = [System.Collections.Generic.List[string]]::new()
    $first = $true
    foreach ($row in $Rows) {
        $cells = @(foreach ($c in 0..($columns - 1)) { if ($c -lt $row.Count) { [string]$row[$c] } else { '' } })
        $prefix = $Indent + ((@(foreach ($c in 0..($columns - 2)) { $cells[$c].PadRight($widths[$c]) }) -join '  ') + $(if ($columns -gt 1) { '  ' }))
        $last = @(Format-WrappedText -Text $cells[$columns - 1] -Indent '' -Width $widths[$columns - 1])
        if (-not $last) { $last = @('') }
        $lines.Add(($prefix + $last[0]).TrimEnd())
        foreach ($more in $last | Select-Object -Skip 1) { $lines.Add(((' ' * $prefix.Length) + $more).TrimEnd()) }
        if ($first) {
            $lines.Add(($Indent + (($widths | ForEach-Object { '-' * $_ }) -join '  ')).TrimEnd())
            $first = $false
        }
    }
    $lines
}

# Parses the key: value lines of a platyPS ```yaml parameter block.
function ConvertFrom-ParameterYaml {
    param([string[]] $Lines)
    $values = [ordered]@{}
    foreach ($line in $Lines) {
        if ($line -match '^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*?)\s*$') { $values[$Matches[1]] = $Matches[2] }
    }
    $values
}

function Get-CommandHelpModel {
    param([Parameter(Mandatory)] [string] $Path)
    $markdown = Get-Content -LiteralPath $Path -Raw
    $root = Get-MdSection -Markdown $markdown
    $top = $root.Children | Where-Object Level -eq 1 | Select-Object -First 1
    if (-not $top) { throw "$Path has no '# Command-Name' heading." }
    $name = $top.Title
    $need = { param($title) $s = Find-MdSection $top $title; if (-not $s) { throw "$Path has no '## $title' section." }; $s }

    $synopsis = & $need 'SYNOPSIS'
    $description = & $need 'DESCRIPTION'
    $syntax = Find-MdSection $top 'SYNTAX'
    $examples = & $need 'EXAMPLES'
    $parametersSection = & $need 'PARAMETERS'

    $parameterSets = @(if ($syntax) { $syntax.Children | ForEach-Object { ($_.Title -replace '\s*\(Default\)\s*$', '').Trim() } })
    $parameterSets = @($parameterSets | Where-Object { $_ -and $_ -ne '__AllParameterSets' })

    $parameters = foreach ($p in $parametersSection.Children) {
        if ($p.Title -eq 'CommonParameters') { continue }
        if ($p.Title -notmatch '^-(\w+)$') { throw "$Path`: parameter heading '### $($p.Title)' must be '### -Name'." }
        $parameterName = $Matches[1]
        $chunks = @(ConvertTo-MdChunk $p.Blocks)
        $yaml = $chunks | Where-Object { $_.Kind -eq 'Code' -and $_.Info -eq 'yaml' } | Select-Object -First 1
        if (-not $yaml) { throw "$Path`: parameter -$parameterName has no yaml block." }
        $meta = ConvertFrom-ParameterYaml $yaml.Lines
        $type = if ($meta['Type']) { $meta['Type'] } else { 'Object' }
        $sets = @(if ($meta['Parameter Sets']) { $meta['Parameter Sets'] -split '\s*,\s*' | Where-Object { $_ } } else { '(All)' })
        $aliases = @(if ($meta['Aliases']) { $meta['Aliases'] -split '\s*,\s*' | Where-Object { $_ } })
        $position = if ($meta['Position'] -and $meta['Position'] -ne 'Named') { $meta['Position'] } else { 'named' }
        $pipeline = if ($meta['Accept pipeline input']) { $meta['Accept pipeline input'] } else { 'False' }
        [pscustomobject]@{
            Name         = $parameterName
            Chunks       = @($chunks | Where-Object { $_ -ne $yaml })
            Type         = $type
            IsSwitch     = $type -in 'SwitchParameter', 'Switch'
            Sets         = $sets
            Aliases      = $aliases
            Required     = $meta['Required'] -eq 'True'
            Position     = $position
            DefaultValue = if ($meta['Default value']) { $meta['Default value'] } else { 'None' }
            Pipeline     = $pipeline
            Globbing     = $meta['Accept wildcard characters'] -eq 'True'
        }
    }
    $parameters = @($parameters)
    if (-not $parameterSets) {
        $parameterSets = @($parameters | ForEach-Object Sets | Where-Object { $_ -ne '(All)' } | Select-Object -Unique)
    }
    if (-not $parameterSets) { $parameterSets = @('__AllParameterSets') }

    $exampleList = foreach ($e in $examples.Children) {
        $chunks = @(ConvertTo-MdChunk $e.Blocks)
        $code = $chunks | Where-Object Kind -eq 'Code' | Select-Object -First 1
        if (-not $code) { throw "$Path`: example '$($e.Title)' has no code block." }
        [pscustomobject]@{ Title = $e.Title; Code = $code.Text; Remarks = @($chunks | Where-Object { $_ -ne $code }) }
    }

    $typeEntries = {
        param($section)
        if (-not $section) { return }
        foreach ($t in $section.Children) { [pscustomobject]@{ Name = $t.Title; Chunks = @(ConvertTo-MdChunk $t.Blocks) } }
        if (-not $section.Children -and $section.Blocks) {
            foreach ($chunk in ConvertTo-MdChunk $section.Blocks) { [pscustomobject]@{ Name = $chunk.Text; Chunks = @() } }
        }
    }

    $linksSection = Find-MdSection $top 'RELATED LINKS'
    $links = @(if ($linksSection) {
            foreach ($block in $linksSection.Blocks) {
                $found = @(if ($block -is [Markdig.Syntax.LeafBlock]) { Get-MdLink $block.Inline })
                if ($found) { $found }
                elseif ($block -is [Markdig.Syntax.ParagraphBlock]) { [pscustomobject]@{ Text = (Get-MdInlineText $block.Inline).Trim(); Uri = '' } }
                elseif ($block -is [Markdig.Syntax.ListBlock]) {
                    foreach ($item in $block.Descendants()) {
                        if ($item -is [Markdig.Syntax.ParagraphBlock]) {
                            $l = @(Get-MdLink $item.Inline)
                            if ($l) { $l } else { [pscustomobject]@{ Text = (Get-MdInlineText $item.Inline).Trim(); Uri = '' } }
                        }
                    }
                }
            }
        })

    $notes = Find-MdSection $top 'NOTES'
    [pscustomobject]@{
        Name          = $name
        Synopsis      = @(ConvertTo-MdChunk $synopsis.Blocks)
        Description   = @(ConvertTo-MdChunk $description.Blocks) + @(foreach ($c in $description.Children) {
                [pscustomobject]@{ Kind = 'Text'; Text = $c.Title.ToUpperInvariant() }; ConvertTo-MdChunk $c.Blocks })
        ParameterSets = $parameterSets
        Parameters    = $parameters
        Examples      = @($exampleList)
        Inputs        = @(& $typeEntries (Find-MdSection $top 'INPUTS'))
        Outputs       = @(& $typeEntries (Find-MdSection $top 'OUTPUTS'))
        Notes         = @(if ($notes) { ConvertTo-MdChunk $notes.Blocks })
        Links         = $links
    }
}

function Write-MamlParameter {
    param([System.Xml.XmlWriter] $Writer, $Parameter, [bool] $Required, [string] $Position, [switch] $InSyntax)
    $ns = $script:MamlNs
    $Writer.WriteStartElement('command', 'parameter', $ns.command)
    $Writer.WriteAttributeString('required', $Required.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('variableLength', $(if ($Parameter.Type -match '\[\]$') { 'true' } else { 'false' }))
    $Writer.WriteAttributeString('globbing', $Parameter.Globbing.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('pipelineInput', $Parameter.Pipeline)
    $Writer.WriteAttributeString('position', $Position)
    $Writer.WriteAttributeString('aliases', $(if ($Parameter.Aliases) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $Writer.WriteElementString('maml', 'name', $ns.maml, $Parameter.Name)
    Write-MamlDescription -Writer $Writer -Chunks $Parameter.Chunks
    if (-not $Parameter.IsSwitch) {
        $Writer.WriteStartElement('command', 'parameterValue', $ns.command)
        $Writer.WriteAttributeString('required', 'true')
        $Writer.WriteAttributeString('variableLength', 'false')
        $Writer.WriteString($Parameter.Type)
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('dev', 'type', $ns.dev)
    $Writer.WriteElementString('maml', 'name', $ns.maml, $Parameter.Type)
    $Writer.WriteElementString('maml', 'uri', $ns.maml, '')
    $Writer.WriteEndElement()
    $Writer.WriteElementString('dev', 'defaultValue', $ns.dev, $Parameter.DefaultValue)
    $Writer.WriteEndElement()
}

function Write-MamlCommand {
    param([System.Xml.XmlWriter] $Writer, $Model)
    $ns = $script:MamlNs
    $Writer.WriteStartElement('command', 'command', $ns.command)
    $Writer.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
    $Writer.WriteAttributeString('xmlns', 'command', $null, $ns.command)
    $Writer.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)
    $Writer.WriteAttributeString('xmlns', 'MSHelp', $null, $ns.MSHelp)

    $verb, $noun = $Model.Name -split '-', 2
    $Writer.WriteStartElement('command', 'details', $ns.command)
    $Writer.WriteElementString('command', 'name', $ns.command, $Model.Name)
    $Writer.WriteElementString('command', 'verb', $ns.command, $verb)
    $Writer.WriteElementString('command', 'noun', $ns.command, $noun)
    Write-MamlDescription -Writer $Writer -Chunks $Model.Synopsis
    $Writer.WriteEndElement()

    Write-MamlDescription -Writer $Writer -Chunks $Model.Description

    # Syntax: one item per parameter set; positional parameters first, in position order.
    $Writer.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $Model.ParameterSets) {
        $Writer.WriteStartElement('command', 'syntaxItem', $ns.command)
        $Writer.WriteElementString('maml', 'name', $ns.maml, $Model.Name)
        $inSet = @($Model.Parameters | Where-Object { $_.Sets -contains '(All)' -or $_.Sets -contains $set -or $set -eq '__AllParameterSets' })
        $positional = @($inSet | Where-Object Position -ne 'named' | Sort-Object { [int]$_.Position })
        $named = @($inSet | Where-Object Position -eq 'named')
        foreach ($p in $positional + $named) {
            Write-MamlParameter -Writer $Writer -Parameter $p -Required $p.Required -Position $p.Position -InSyntax
        }
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in $Model.Parameters) {
        Write-MamlParameter -Writer $Writer -Parameter $p -Required $p.Required -Position $p.Position
    }
    $Writer.WriteEndElement()

    foreach ($kind in @(@{ List = 'inputTypes'; Item = 'inputType'; Entries = $Model.Inputs }, @{ List = 'returnValues'; Item = 'returnValue'; Entries = $Model.Outputs })) {
        $Writer.WriteStartElement('command', $kind.List, $ns.command)
        foreach ($entry in $kind.Entries) {
            $Writer.WriteStartElement('command', $kind.Item, $ns.command)
            $Writer.WriteStartElement('dev', 'type', $ns.dev)
            $Writer.WriteElementString('maml', 'name', $ns.maml, $entry.Name)
            $Writer.WriteEndElement()
            Write-MamlDescription -Writer $Writer -Chunks $entry.Chunks
            $Writer.WriteEndElement()
        }
        $Writer.WriteEndElement()
    }

    $Writer.WriteStartElement('maml', 'alertSet', $ns.maml)
    $Writer.WriteStartElement('maml', 'alert', $ns.maml)
    Write-MamlPara -Writer $Writer -Chunks $Model.Notes
    $Writer.WriteEndElement()
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'examples', $ns.command)
    foreach ($example in $Model.Examples) {
        $Writer.WriteStartElement('command', 'example', $ns.command)
        $Writer.WriteElementString('maml', 'title', $ns.maml, "--------- $($example.Title) ---------")
        $Writer.WriteElementString('dev', 'code', $ns.dev, $example.Code)
        $Writer.WriteStartElement('dev', 'remarks', $ns.dev)
        Write-MamlPara -Writer $Writer -Chunks $example.Remarks
        $Writer.WriteEndElement()
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'relatedLinks', $ns.command)
    foreach ($link in $Model.Links) {
        $Writer.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $Writer.WriteElementString('maml', 'linkText', $ns.maml, $link.Text)
        # Relative links (other markdown files) name a help topic; only absolute URIs are kept.
        $uri = if ($link.Uri -match '^[a-z]+://') { $link.Uri } else { '' }
        $Writer.WriteElementString('maml', 'uri', $ns.maml, $uri)
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteEndElement()
}

<#
.SYNOPSIS
Converts platyPS-style command markdown files into one MAML help file (e.g. en-US/Module.dll-Help.xml).
#>
function ConvertTo-MamlHelp {
    param(
        [Parameter(Mandatory)] [string[]] $Path,
        [Parameter(Mandatory)] [string] $OutputPath
    )
    $models = foreach ($file in $Path) { Get-CommandHelpModel -Path $file }
    $settings = [System.Xml.XmlWriterSettings]::new()
    $settings.Indent = $true
    $settings.Encoding = [System.Text.UTF8Encoding]::new($false)
    $settings.NewLineChars = "`n"
    $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $OutputPath)
    $writer = [System.Xml.XmlWriter]::Create($OutputPath, $settings)
    try {
        $writer.WriteStartDocument()
        $writer.WriteStartElement('helpItems', $script:MamlNs.msh)
        $writer.WriteAttributeString('schema', 'maml')
        foreach ($model in $models) { Write-MamlCommand -Writer $writer -Model $model }
        $writer.WriteEndElement()
        $writer.WriteEndDocument()
    }
    finally { $writer.Dispose() }
    # Fail the build on anything that is not well-formed XML.
    $null = [xml](Get-Content -LiteralPath $OutputPath -Raw)
    $models
}

#endregion

#region about_ topics

function Format-WrappedText {
    param([string] $Text, [string] $Indent, [int] $Width = 79, [string] $HangingIndent = $Indent)
    $words = @($Text -split '\s+' | Where-Object { $_ })
    $line = $Indent
    $lineHasWord = $false
    foreach ($word in $words) {
        if ($lineHasWord -and ($line.Length + 1 + $word.Length) -gt $Width) {
            $line
            $line = $HangingIndent + $word
        }
        else {
            $line = if ($lineHasWord) { "$line $word" } else { $line + $word }
        }
        $lineHasWord = $true
    }
    if ($lineHasWord) { $line }
}

<#
.SYNOPSIS
Converts an about_ topic written in markdown into the plain-text about_*.help.txt format.
#>
function ConvertTo-AboutHelpText {
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $OutputPath
    )
    $root = Get-MdSection -Markdown (Get-Content -LiteralPath $Path -Raw)
    $top = $root.Children | Where-Object Level -eq 1 | Select-Object -First 1
    if (-not $top) { throw "$Path has no '# about_Name' heading." }
    $out = [System.Collections.Generic.List[string]]::new()
    $out.Add('TOPIC')
    $out.Add("    $($top.Title)")

    $writeChunks = {
        param($chunks, [string] $indent)
        foreach ($chunk in $chunks) {
            $out.Add('')
            switch ($chunk.Kind) {
                'Text' { foreach ($l in Format-WrappedText -Text $chunk.Text -Indent $indent) { $out.Add($l) } }
                'Code' { foreach ($l in $chunk.Lines) { $out.Add(("$indent    $l").TrimEnd()) } }
                'List' {
                    $n = 0
                    foreach ($item in $chunk.Items) {
                        $n++
                        $bullet = if ($chunk.Ordered) { "$n. " } else { '- ' }
                        foreach ($l in Format-WrappedText -Text $item -Indent "$indent$bullet" -HangingIndent ($indent + (' ' * $bullet.Length))) { $out.Add($l) }
                    }
                }
                'Table' { foreach ($l in Format-TextTable -Rows $chunk.Rows -Indent "$indent    " -Width 79) { $out.Add($l) } }
            }
        }
    }
    & $writeChunks @(ConvertTo-MdChunk $top.Blocks) '    '

    $walk = {
        param($section)
        $out.Add('')
        if ($section.Level -le 2) {
            $out.Add($section.Title.ToUpperInvariant())
            $indent = '    '
        }
        else {
            $out.Add("  $($section.Title.ToUpperInvariant())")
            $indent = '    '
        }
        $chunks = @(ConvertTo-MdChunk $section.Blocks)
        # The first paragraph follows its heading with no blank line.
        if ($chunks -and $chunks[0].Kind -eq 'Text') {
            foreach ($l in Format-WrappedText -Text $chunks[0].Text -Indent $indent) { $out.Add($l) }
            $chunks = @($chunks | Select-Object -Skip 1)
        }
        & $writeChunks $chunks $indent
        foreach ($child in $section.Children) { & $walk $child }
    }
    foreach ($section in $top.Children) { & $walk $section }

    $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $OutputPath)
    [System.IO.File]::WriteAllText($OutputPath, (($out -join "`n") + "`n"), [System.Text.UTF8Encoding]::new($false))
}

#endregion
