# Installs berth on Windows: downloads the x86_64 archive named in the release's sha256.sum,
# checks its SHA-256 and puts berth.exe in %LOCALAPPDATA%\Programs\berth (or
# $env:BERTH_INSTALL_DIR), which it adds to the user's PATH.
#
#   powershell -ExecutionPolicy ByPass -c "irm <releases>/latest/download/install.ps1 | iex"
#
#   BERTH_VERSION       a version to install (default: the latest release)
#   BERTH_DOWNLOAD_URL  the directory holding the archives and sha256.sum, https://… or
#                       file:///C:/… (default: the release's download directory)
#   BERTH_INSTALL_DIR   where berth.exe goes
#
# Windows PowerShell 5.1 or PowerShell 7. Inside WSL2 use install.sh instead.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

# Stamped by scripts/release.sh with the project's releases page.
$ReleasesUrl = ''

# Throws rather than exits: under `irm … | iex`, `exit` would close the user's shell.
function Fail([string]$Message, [string]$Hint = '') {
    if ($Hint) { Write-Host "berth-install: hint: $Hint" }
    throw "berth-install: $Message"
}

function Get-Target {
    $arch = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString()
    if ($arch -ne 'X64') {
        Fail "no berth build for Windows on $arch" 'berth ships x86_64 Windows builds; on ARM64 Windows, x64 emulation runs them: set BERTH_TARGET=x86_64-pc-windows-gnu'
    }
    'x86_64-pc-windows-gnu'
}

# Copies a file:// URL, downloads anything else.
function Get-Url([string]$Url, [string]$Path) {
    if ($Url -like 'file://*') {
        $local = ([System.Uri]$Url).LocalPath
        if (-not (Test-Path -LiteralPath $local)) { Fail "cannot read $local" }
        Copy-Item -LiteralPath $local -Destination $Path
    } else {
        [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
        try {
            Invoke-WebRequest -Uri $Url -OutFile $Path -UseBasicParsing
        } catch {
            Fail "cannot download ${Url}: $($_.Exception.Message)"
        }
    }
}

$target = if ($env:BERTH_TARGET) { $env:BERTH_TARGET } else { Get-Target }
$version = if ($env:BERTH_VERSION) { $env:BERTH_VERSION.TrimStart('v') } else { '' }
$url = $env:BERTH_DOWNLOAD_URL
if (-not $url) {
    if (-not $ReleasesUrl) {
        Fail 'this copy of install.ps1 names no release' 'set BERTH_DOWNLOAD_URL to the directory holding the archives and sha256.sum'
    }
    $url = if ($version) { "$ReleasesUrl/download/v$version" } else { "$ReleasesUrl/latest/download" }
}
$url = $url.TrimEnd('/')
$dir = if ($env:BERTH_INSTALL_DIR) { $env:BERTH_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA 'Programs\berth' }

$tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("berth-install-" + [System.Guid]::NewGuid())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    Get-Url "$url/sha256.sum" (Join-Path $tmp 'sha256.sum')
    # Lines are "<sha256>  berth-<version>-<target>.zip".
    $line = Get-Content (Join-Path $tmp 'sha256.sum') | Where-Object {
        $name = ($_ -split '\s+')[-1]
        if ($version) { $name -eq "berth-$version-$target.zip" } else { $name -like "berth-*-$target.zip" }
    } | Select-Object -First 1
    if (-not $line) {
        Fail "$url/sha256.sum lists no archive for $target $version" "see which targets the release has: $url/sha256.sum"
    }
    $expected, $name = $line -split '\s+', 2
    $name = $name.Trim()
    $top = $name -replace '\.zip$', ''

    Write-Host "berth-install: downloading $name"
    $archive = Join-Path $tmp $name
    Get-Url "$url/$name" $archive
    $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $archive).Hash.ToLowerInvariant()
    if ($actual -ne $expected.ToLowerInvariant()) {
        Fail "checksum mismatch for ${name}: expected $expected, got $actual" 'the download is damaged or was changed; nothing was installed'
    }

    Expand-Archive -LiteralPath $archive -DestinationPath $tmp -Force
    $exe = Join-Path (Join-Path $tmp $top) 'berth.exe'
    if (-not (Test-Path -LiteralPath $exe)) { Fail "$name holds no $top\berth.exe" }
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    Copy-Item -LiteralPath $exe -Destination (Join-Path $dir 'berth.exe') -Force
    $installed = & (Join-Path $dir 'berth.exe') --version | Select-Object -First 1
    Write-Host "berth-install: installed $installed to $dir\berth.exe"

    $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    if (-not $userPath) { $userPath = '' }
    if (($userPath -split ';') -notcontains $dir) {
        [Environment]::SetEnvironmentVariable('Path', (($userPath.TrimEnd(';') + ";$dir").TrimStart(';')), 'User')
        Write-Host "berth-install: added $dir to your user PATH; open a new terminal to use berth"
    }
} finally {
    Remove-Item -Recurse -Force -LiteralPath $tmp -ErrorAction SilentlyContinue
}
