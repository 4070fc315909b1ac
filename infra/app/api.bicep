// The app: Flex Consumption (FC1), Linux, Python; reached over HTTPS only; its identity signs in to storage
// and to Application Insights. `azd deploy` finds it by the azd-service-name tag and uploads the package
// to the deployment container.
param name string
param planName string
param location string
param tags object
param pythonVersion string
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsConnectionString string
param authClientId string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

// CKV_AZURE_225: zone redundancy on Flex Consumption needs always-ready instances, paid around the clock; a class can regenerate a file.
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: { reserved: true }
}

// Every setting the app reads (README, "Settings"), and the host's own. Flex Consumption sets the runtime in
// functionAppConfig and refuses FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION here.
var appSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsDisableHomepage: 'true'
  // The host buffers a request body whole before the app sees it, up to 100 MB by default: 4 MiB is room
  // for the largest config the app accepts (USERMAPPER_MAX_CONFIG_BYTES) in a multipart upload.
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '4194304'
  // Read by the C library as the worker starts, not by the app: at most two malloc arenas. With one per
  // thread, each kept what its biggest request had freed, and the process grew from 50 to 310 MB over
  // bench/bench_hostile.py's requests; with two it ends at 120-150 MB (docs/settings.md).
  MALLOC_ARENA_MAX: '2'
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  USERMAPPER_TABLE: 'usermappings'
  USERMAPPER_SESSION_SECONDS: '3600'
  USERMAPPER_SWEEP_SCHEDULE: '0 */5 * * * *'
  USERMAPPER_MAX_CONFIG_BYTES: '1048576'
  USERMAPPER_MAX_USERS: '10000'
  USERMAPPER_MAX_DEVICES: '1000'
  USERMAPPER_MAX_CONNECTIONS: '200000'
  USERMAPPER_MAX_XML_BYTES: '80000000'
  USERMAPPER_ALLOWED_ORIGINS: ''
}

// CKV_AZURE_17: client certificates cannot be presented by a trainer's browser.
// CKV_AZURE_222: public network access is the point: browsers of the class reach the page.
// CKV_AZURE_212: a minimum instance count means always-ready instances, paid around the clock; the app scales from zero.
// CKV_AZURE_213: Flex Consumption does not run App Service health checks; GET /api/health answers for monitors.
resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(appSettings): { name: setting.key, value: setting.value }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Only accounts of this tenant get in; everyone else is sent to the Entra ID sign-in page.
// checkov reads this config resource as a site of its own, so these site checks fail here; the site above is what they mean:
// CKV_AZURE_13: this resource is the App Service Authentication, on when authClientId is set.
// CKV_AZURE_63: HTTP logs go to Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING); no site logs on Flex Consumption.
// CKV_AZURE_65: detailed error pages would show visitors the platform's internals; problems are logged to Application Insights.
// CKV_AZURE_66: failed request tracing is a Windows App Service feature; this is Linux.
// CKV_AZURE_80: no .NET: the app is Python.
// CKV_AZURE_88: Azure Files is not used; Flex Consumption keeps the package in blob storage.
// CKV_AZURE_222: public network access is the point: browsers of the class reach the page.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(authClientId)) {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: ['api://${authClientId}']
        }
      }
    }
    login: {
      tokenStore: { enabled: false }
    }
  }
}

output name string = app.name
output uri string = 'https://${app.properties.defaultHostName}'
