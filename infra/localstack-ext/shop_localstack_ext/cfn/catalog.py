"""A catalog that lets CloudFormation deploy every resource type a provider exists for, offline.

With ``CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=0`` LocalStack asks its AWS catalog whether each
resource type of a template is available. The catalog it prefers downloads LocalStack's support
data; without network access it falls back to ``aws-catalog-runtime-only``, which knows nothing,
so every type, ``AWS::S3::Bucket`` included, is refused. LocalStack looks for the fallback under
the name ``aws-catalog-runtime-only-with-license`` first (a slot only LocalStack Pro fills); this
plugin takes that slot in community and answers from the resource providers loaded at runtime:
available when a provider exists (LocalStack's or this package's), not implemented otherwise.
Where the download works (for example in the docker-compose container), LocalStack's own catalog
is used and this plugin is not loaded.
"""

from __future__ import annotations

from localstack.utils.catalog.catalog import AwsCatalogRuntimePlugin
from localstack.utils.catalog.common import CloudFormationResourcesSupportAtRuntime


class ResourceProviderCatalog(AwsCatalogRuntimePlugin):
    name = "aws-catalog-runtime-only-with-license"

    def get_cloudformation_resource_status(
        self, resource_name: str, service_name: str, is_pro_resource: bool = False
    ) -> CloudFormationResourcesSupportAtRuntime:
        if resource_name in self._get_cfn_resources_available_at_runtime():
            return CloudFormationResourcesSupportAtRuntime.AVAILABLE
        return CloudFormationResourcesSupportAtRuntime.NOT_IMPLEMENTED
