# Internal to the webfarm.winauth lab.
"""The applicationHost.config a lab node starts from: a fresh IIS 10 server with ARR 3 and URL Rewrite 2.

Written by this project (not copied from a server) to look like what IIS 10 setup writes on
Windows Server 2016+ with the Windows Authentication role service, URL Rewrite 2.1 and Application
Request Routing 3 installed: the section declarations with IIS's lock defaults (the authentication
sections are ``overrideModeDefault="Deny"``), DefaultAppPool, the Default Web Site on port 80 and,
as an administrator sets up a farm node, on 443 (HTTPS; the lab's web endpoint holds the node's
certificate, as ``netsh http add sslcert`` binds one to the port on Windows),
anonymous authentication on and Windows authentication off at the server level with the
Negotiate and NTLM providers, and the ARR host-affinity provider list. CRLF line ends, as on Windows.
"""

from __future__ import annotations

import base64
import hashlib

_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!--

    IIS configuration of lab node {node}.

    Written by the webfarm.winauth lab to resemble a fresh IIS 10 server with
    Windows Authentication, URL Rewrite 2 and Application Request Routing 3.
    The lab's simulated configuration engine reads and edits it; see
    docs/remote-contract.md in the collection.

-->

<configuration>

    <configSections>
        <sectionGroup name="system.applicationHost">
            <section name="applicationPools" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
            <section name="configHistory" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
            <section name="customMetadata" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
            <section name="listenerAdapters" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
            <section name="log" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
            <section name="serviceAutoStartProviders" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
            <section name="sites" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
            <section name="webLimits" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
        </sectionGroup>

        <sectionGroup name="system.webServer">
            <section name="asp" overrideModeDefault="Deny" />
            <section name="caching" overrideModeDefault="Allow" />
            <section name="defaultDocument" overrideModeDefault="Allow" />
            <section name="directoryBrowse" overrideModeDefault="Allow" />
            <section name="globalModules" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
            <section name="handlers" overrideModeDefault="Deny" />
            <section name="httpCompression" overrideModeDefault="Allow" />
            <section name="httpErrors" overrideModeDefault="Allow" />
            <section name="httpLogging" overrideModeDefault="Deny" />
            <section name="httpProtocol" overrideModeDefault="Allow" />
            <section name="modules" allowDefinition="MachineToApplication" overrideModeDefault="Deny" />
            <sectionGroup name="security">
                <section name="access" overrideModeDefault="Deny" />
                <sectionGroup name="authentication">
                    <section name="anonymousAuthentication" overrideModeDefault="Deny" />
                    <section name="basicAuthentication" overrideModeDefault="Deny" />
                    <section name="clientCertificateMappingAuthentication" overrideModeDefault="Deny" />
                    <section name="digestAuthentication" overrideModeDefault="Deny" />
                    <section name="iisClientCertificateMappingAuthentication" overrideModeDefault="Deny" />
                    <section name="windowsAuthentication" overrideModeDefault="Deny" />
                </sectionGroup>
                <section name="authorization" overrideModeDefault="Allow" />
                <section name="ipSecurity" overrideModeDefault="Deny" />
                <section name="isapiCgiRestriction" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
                <section name="requestFiltering" overrideModeDefault="Allow" />
            </sectionGroup>
            <section name="serverRuntime" overrideModeDefault="Deny" />
            <section name="staticContent" overrideModeDefault="Allow" />
            <section name="urlCompression" overrideModeDefault="Allow" />
            <section name="validation" overrideModeDefault="Allow" />
            <section name="webSocket" overrideModeDefault="Deny" />
            <sectionGroup name="rewrite">
                <section name="globalRules" overrideModeDefault="Deny" allowDefinition="AppHostOnly" />
                <section name="rules" overrideModeDefault="Allow" />
                <section name="outboundRules" overrideModeDefault="Allow" />
                <section name="providers" overrideModeDefault="Allow" />
                <section name="rewriteMaps" overrideModeDefault="Allow" />
                <section name="allowedServerVariables" overrideModeDefault="Deny" />
            </sectionGroup>
            <section name="proxy" overrideModeDefault="Deny" allowDefinition="AppHostOnly" />
            <section name="diskCache" overrideModeDefault="Deny" allowDefinition="AppHostOnly" />
        </sectionGroup>
        <section name="webFarms" overrideModeDefault="Deny" allowDefinition="AppHostOnly" />
    </configSections>

    <configProtectedData>
        <providers>
{providers}
        </providers>
    </configProtectedData>

    <system.applicationHost>

        <applicationPools>
            <add name="DefaultAppPool" />
            <applicationPoolDefaults managedRuntimeVersion="v4.0">
                <processModel identityType="ApplicationPoolIdentity" />
            </applicationPoolDefaults>
        </applicationPools>

        <customMetadata />

        <listenerAdapters>
            <add name="http" />
        </listenerAdapters>

        <log>
            <centralBinaryLogFile enabled="true" directory="%SystemDrive%\\inetpub\\logs\\LogFiles" />
            <centralW3CLogFile enabled="true" directory="%SystemDrive%\\inetpub\\logs\\LogFiles" />
        </log>

        <sites>
            <site name="Default Web Site" id="1">
                <application path="/">
                    <virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\wwwroot" />
                </application>
                <bindings>
                    <binding protocol="http" bindingInformation="*:80:" />
                    <binding protocol="https" bindingInformation="*:443:" />
                </bindings>
            </site>
            <siteDefaults>
                <logFile logFormat="W3C" directory="%SystemDrive%\\inetpub\\logs\\LogFiles" />
                <traceFailedRequestsLogging directory="%SystemDrive%\\inetpub\\logs\\FailedReqLogFiles" />
            </siteDefaults>
            <applicationDefaults applicationPool="DefaultAppPool" />
            <virtualDirectoryDefaults allowSubDirConfig="true" />
        </sites>

        <webLimits />

    </system.applicationHost>

    <system.webServer>

        <asp />

        <caching enabled="true" enableKernelCache="true">
        </caching>

        <defaultDocument enabled="true">
            <files>
                <add value="Default.htm" />
                <add value="index.html" />
                <add value="iisstart.htm" />
            </files>
        </defaultDocument>

        <directoryBrowse enabled="false" />

        <globalModules>
            <add name="HttpLoggingModule" image="%windir%\\System32\\inetsrv\\loghttp.dll" />
            <add name="UriCacheModule" image="%windir%\\System32\\inetsrv\\cachuri.dll" />
            <add name="FileCacheModule" image="%windir%\\System32\\inetsrv\\cachfile.dll" />
            <add name="TokenCacheModule" image="%windir%\\System32\\inetsrv\\cachtokn.dll" />
            <add name="HttpCacheModule" image="%windir%\\System32\\inetsrv\\cachhttp.dll" />
            <add name="StaticCompressionModule" image="%windir%\\System32\\inetsrv\\compstat.dll" />
            <add name="DefaultDocumentModule" image="%windir%\\System32\\inetsrv\\defdoc.dll" />
            <add name="DirectoryListingModule" image="%windir%\\System32\\inetsrv\\dirlist.dll" />
            <add name="ProtocolSupportModule" image="%windir%\\System32\\inetsrv\\protsup.dll" />
            <add name="StaticFileModule" image="%windir%\\System32\\inetsrv\\static.dll" />
            <add name="AnonymousAuthenticationModule" image="%windir%\\System32\\inetsrv\\authanon.dll" />
            <add name="WindowsAuthenticationModule" image="%windir%\\System32\\inetsrv\\authsspi.dll" />
            <add name="RequestFilteringModule" image="%windir%\\System32\\inetsrv\\modrqflt.dll" />
            <add name="CustomErrorModule" image="%windir%\\System32\\inetsrv\\custerr.dll" />
            <add name="RewriteModule" image="%SystemRoot%\\system32\\inetsrv\\rewrite.dll" />
            <add name="ApplicationRequestRouting" image="%ProgramFiles%\\IIS\\Application Request Routing\\requestRouter.dll" />
        </globalModules>

        <httpCompression directory="%SystemDrive%\\inetpub\\temp\\IIS Temporary Compressed Files">
            <scheme name="gzip" dll="%Windir%\\system32\\inetsrv\\gzip.dll" />
            <staticTypes>
                <add mimeType="text/*" enabled="true" />
                <add mimeType="*/*" enabled="false" />
            </staticTypes>
        </httpCompression>

        <httpErrors lockAttributes="allowAbsolutePathsWhenDelegated,defaultPath">
            <error statusCode="401" prefixLanguageFilePath="%SystemDrive%\\inetpub\\custerr" path="401.htm" />
            <error statusCode="404" prefixLanguageFilePath="%SystemDrive%\\inetpub\\custerr" path="404.htm" />
            <error statusCode="500" prefixLanguageFilePath="%SystemDrive%\\inetpub\\custerr" path="500.htm" />
        </httpErrors>

        <httpLogging dontLog="false" />

        <httpProtocol>
            <customHeaders>
                <clear />
                <add name="X-Powered-By" value="ASP.NET" />
            </customHeaders>
        </httpProtocol>

        <security>

            <access sslFlags="None" />

            <authentication>

                <anonymousAuthentication enabled="true" userName="IUSR" />

                <basicAuthentication enabled="false" />

                <clientCertificateMappingAuthentication enabled="false" />

                <digestAuthentication enabled="false" />

                <iisClientCertificateMappingAuthentication enabled="false">
                </iisClientCertificateMappingAuthentication>

                <windowsAuthentication enabled="false">
                    <providers>
                        <add value="Negotiate" />
                        <add value="NTLM" />
                    </providers>
                </windowsAuthentication>

            </authentication>

            <authorization>
                <add accessType="Allow" users="*" />
            </authorization>

            <ipSecurity allowUnlisted="true" />

            <isapiCgiRestriction />

            <requestFiltering>
                <fileExtensions allowUnlisted="true" applyToWebDAV="true">
                    <add fileExtension=".config" allowed="false" />
                    <add fileExtension=".mdb" allowed="false" />
                </fileExtensions>
                <verbs allowUnlisted="true" applyToWebDAV="true" />
                <hiddenSegments applyToWebDAV="true">
                    <add segment="web.config" />
                    <add segment="bin" />
                    <add segment="App_Data" />
                </hiddenSegments>
            </requestFiltering>

        </security>

        <serverRuntime />

        <staticContent lockAttributes="isDocFooterFileName">
            <mimeMap fileExtension=".css" mimeType="text/css" />
            <mimeMap fileExtension=".htm" mimeType="text/html" />
            <mimeMap fileExtension=".html" mimeType="text/html" />
            <mimeMap fileExtension=".js" mimeType="application/javascript" />
            <mimeMap fileExtension=".json" mimeType="application/json" />
            <mimeMap fileExtension=".txt" mimeType="text/plain" />
        </staticContent>

        <urlCompression />

        <validation />

        <diskCache>
            <compression>
                <add mimeType="text/*" enabled="true" />
                <add mimeType="application/javascript" enabled="true" />
            </compression>
        </diskCache>

    </system.webServer>
    <webFarms>
        <applicationRequestRouting>
            <hostAffinityProviderList>
                <add name="Microsoft.Web.Arr.HostNameRoundRobin" />
            </hostAffinityProviderList>
        </applicationRequestRouting>
    </webFarms>
    <location path="" overrideMode="Allow">
        <system.webServer>
            <modules>
                <add name="HttpLoggingModule" lockItem="true" />
                <add name="HttpCacheModule" lockItem="true" />
                <add name="StaticCompressionModule" lockItem="true" />
                <add name="DefaultDocumentModule" lockItem="true" />
                <add name="DirectoryListingModule" lockItem="true" />
                <add name="ProtocolSupportModule" lockItem="true" />
                <add name="StaticFileModule" lockItem="true" />
                <add name="AnonymousAuthenticationModule" lockItem="true" />
                <add name="WindowsAuthenticationModule" lockItem="true" />
                <add name="RequestFilteringModule" lockItem="true" />
                <add name="CustomErrorModule" lockItem="true" />
                <add name="RewriteModule" />
                <add name="ApplicationRequestRouting" />
            </modules>
            <handlers accessPolicy="Read, Script">
                <add name="TRACEVerbHandler" path="*" verb="TRACE" modules="ProtocolSupportModule" requireAccess="None" />
                <add name="OPTIONSVerbHandler" path="*" verb="OPTIONS" modules="ProtocolSupportModule" requireAccess="None" />
                <add name="StaticFile" path="*" verb="*" modules="{static_modules}" resourceType="Either" requireAccess="Read" />
            </handlers>
        </system.webServer>
    </location>

</configuration>
"""


_CNG = "Microsoft.ApplicationHost.CngProtectedConfigurationProvider"
_AES = "Microsoft.ApplicationHost.AesProtectedConfigurationProvider"


def _providers(node_name: str) -> str:
    """The protected-configuration providers IIS registers, each on one line as IIS writes them."""
    providers = [
        [("name", "IISWASOnlyRsaProvider"), ("type", ""), ("description", "RSA (WAS only)"),
         ("keyContainerName", "iisWasKey"), ("cspProviderName", ""), ("useMachineContainer", "true"),
         ("useOAEP", "false")],
        [("name", "IISCngProvider"), ("type", _CNG), ("description", "CNG"),
         ("keyContainerName", "iisCngConfigurationKey"), ("useMachineContainer", "true")],
        [("name", "IISWASOnlyCngProvider"), ("type", _CNG), ("description", "CNG (WAS only)"),
         ("keyContainerName", "iisCngWasKey"), ("useMachineContainer", "true")],
        [("name", "AesProvider"), ("type", _AES), ("description", "AES session key"),
         ("keyContainerName", "iisConfigurationKey"), ("cspProviderName", ""), ("useOAEP", "false"),
         ("useMachineContainer", "true"), ("sessionKey", _lab_key(node_name, "AesProvider"))],
        [("name", "IISWASOnlyAesProvider"), ("type", _AES), ("description", "AES session key (WAS only)"),
         ("keyContainerName", "iisWasKey"), ("cspProviderName", ""), ("useOAEP", "false"),
         ("useMachineContainer", "true"), ("sessionKey", _lab_key(node_name, "IISWASOnlyAesProvider"))],
    ]
    return "\n".join("            <add %s />" % " ".join('%s="%s"' % kv for kv in attrs) for attrs in providers)


def _lab_key(node_name: str, purpose: str) -> str:
    """A per-node stand-in for IIS's machine-generated AES session keys (lab data, protects nothing)."""
    digest = b"".join(hashlib.sha256(("%s/%s/%d" % (node_name.upper(), purpose, i)).encode()).digest()
                      for i in range(8))
    return base64.b64encode(b"\x01\x02\x00\x00" + digest[:252]).decode("ascii")


def initial_config(node_name: str) -> str:
    """The applicationHost.config text a fresh lab node starts from (CRLF line ends; write it as UTF-8)."""
    text = _TEMPLATE.format(node=node_name.upper(), providers=_providers(node_name),
                            static_modules="StaticFileModule,DefaultDocumentModule,DirectoryListingModule")
    return text.replace("\r\n", "\n").replace("\n", "\r\n")
