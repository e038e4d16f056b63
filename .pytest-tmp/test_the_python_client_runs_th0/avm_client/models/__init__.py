"""Contains all the data models used in inputs/outputs"""

from .asset_list import AssetList
from .asset_out import AssetOut
from .asset_out_metadata import AssetOutMetadata
from .asset_out_type import AssetOutType
from .audit_event_list import AuditEventList
from .chain_check import ChainCheck
from .change_role import ChangeRole
from .change_role_role import ChangeRoleRole
from .change_status import ChangeStatus
from .change_status_status import ChangeStatusStatus
from .complete_job import CompleteJob
from .create_preset import CreatePreset
from .create_project import CreateProject
from .create_token import CreateToken
from .create_user import CreateUser
from .create_user_role import CreateUserRole
from .estimate_out import EstimateOut
from .estimate_out_breakdown import EstimateOutBreakdown
from .event_out import EventOut
from .event_out_data import EventOutData
from .fail_job import FailJob
from .field_error import FieldError
from .generation_config import GenerationConfig
from .generation_config_image_quality import GenerationConfigImageQuality
from .generation_config_patch import GenerationConfigPatch
from .generation_config_patch_image_quality_type_0 import (
    GenerationConfigPatchImageQualityType0,
)
from .health import Health
from .health_checks import HealthChecks
from .health_stats import HealthStats
from .health_status import HealthStatus
from .history import History
from .job_error import JobError
from .job_error_code import JobErrorCode
from .job_error_details_type_0 import JobErrorDetailsType0
from .job_error_out import JobErrorOut
from .job_error_out_code import JobErrorOutCode
from .job_error_out_details_type_0 import JobErrorOutDetailsType0
from .job_list import JobList
from .job_manifest import JobManifest
from .job_manifest_from_step import JobManifestFromStep
from .job_manifest_model_keys import JobManifestModelKeys
from .job_manifest_start_step import JobManifestStartStep
from .job_manifest_status import JobManifestStatus
from .job_manifest_voice import JobManifestVoice
from .job_out import JobOut
from .job_out_from_step import JobOutFromStep
from .job_out_status import JobOutStatus
from .job_progress import JobProgress
from .job_progress_completed_steps_item import JobProgressCompletedStepsItem
from .job_progress_step_type_1 import JobProgressStepType1
from .job_progress_step_type_2_type_1 import JobProgressStepType2Type1
from .job_progress_step_type_3_type_1 import JobProgressStepType3Type1
from .last_rebuild_out import LastRebuildOut
from .lease_out import LeaseOut
from .manifest_image import ManifestImage
from .manifest_image_metadata import ManifestImageMetadata
from .manifest_project import ManifestProject
from .manifest_scene import ManifestScene
from .manifest_story import ManifestStory
from .me_out import MeOut
from .me_out_role import MeOutRole
from .me_out_usage import MeOutUsage
from .merge_scenes import MergeScenes
from .notification_settings import NotificationSettings
from .notification_settings_patch import NotificationSettingsPatch
from .preset_list import PresetList
from .preset_out import PresetOut
from .privacy_settings import PrivacySettings
from .privacy_settings_patch import PrivacySettingsPatch
from .problem import Problem
from .project_config import ProjectConfig
from .project_config_aspect_ratio import ProjectConfigAspectRatio
from .project_config_patch import ProjectConfigPatch
from .project_config_patch_aspect_ratio_type_0 import ProjectConfigPatchAspectRatioType0
from .project_list import ProjectList
from .project_out import ProjectOut
from .project_out_status import ProjectOutStatus
from .projection_list import ProjectionList
from .projection_out import ProjectionOut
from .projection_out_kind import ProjectionOutKind
from .projection_out_state import ProjectionOutState
from .queue_job import QueueJob
from .rebuild_progress_out import RebuildProgressOut
from .register_asset import RegisterAsset
from .register_asset_metadata_type_0 import RegisterAssetMetadataType0
from .register_asset_type import RegisterAssetType
from .register_output_type import RegisterOutputType
from .reorder_scenes import ReorderScenes
from .report_progress import ReportProgress
from .report_progress_step import ReportProgressStep
from .retry_job import RetryJob
from .retry_job_from_step_type_1 import RetryJobFromStepType1
from .retry_job_from_step_type_2_type_1 import RetryJobFromStepType2Type1
from .retry_job_from_step_type_3_type_1 import RetryJobFromStepType3Type1
from .safety_config import SafetyConfig
from .safety_config_adult_content import SafetyConfigAdultContent
from .safety_config_content_policy import SafetyConfigContentPolicy
from .safety_config_error_strategy import SafetyConfigErrorStrategy
from .safety_config_patch import SafetyConfigPatch
from .safety_config_patch_adult_content_type_0 import SafetyConfigPatchAdultContentType0
from .safety_config_patch_content_policy_type_0 import (
    SafetyConfigPatchContentPolicyType0,
)
from .safety_config_patch_error_strategy_type_0 import (
    SafetyConfigPatchErrorStrategyType0,
)
from .scene_list import SceneList
from .scene_out import SceneOut
from .set_story import SetStory
from .settings import Settings
from .settings_generation_defaults import SettingsGenerationDefaults
from .settings_language import SettingsLanguage
from .settings_patch import SettingsPatch
from .settings_patch_generation_defaults_type_0 import (
    SettingsPatchGenerationDefaultsType0,
)
from .settings_patch_language_type_0 import SettingsPatchLanguageType0
from .settings_patch_theme_type_0 import SettingsPatchThemeType0
from .settings_theme import SettingsTheme
from .split_scene import SplitScene
from .stats_day import StatsDay
from .stats_report import StatsReport
from .sweep_result import SweepResult
from .template_config import TemplateConfig
from .template_config_name import TemplateConfigName
from .template_config_patch import TemplateConfigPatch
from .template_config_patch_name_type_0 import TemplateConfigPatchNameType0
from .template_config_patch_transitions_type_0 import (
    TemplateConfigPatchTransitionsType0,
)
from .template_config_transitions import TemplateConfigTransitions
from .token_created import TokenCreated
from .token_list import TokenList
from .token_out import TokenOut
from .update_me import UpdateMe
from .update_preset import UpdatePreset
from .update_project import UpdateProject
from .update_scene import UpdateScene
from .usage_day import UsageDay
from .usage_report import UsageReport
from .user_created import UserCreated
from .user_list import UserList
from .user_out import UserOut
from .user_out_role import UserOutRole
from .view_state import ViewState
from .view_state_state import ViewStateState
from .voice_config import VoiceConfig
from .voice_config_accent import VoiceConfigAccent
from .voice_config_language import VoiceConfigLanguage
from .voice_config_patch import VoiceConfigPatch
from .voice_config_patch_accent_type_0 import VoiceConfigPatchAccentType0
from .voice_config_patch_language_type_0 import VoiceConfigPatchLanguageType0
from .voice_config_patch_type_type_0 import VoiceConfigPatchTypeType0
from .voice_config_type import VoiceConfigType
from .worker_job_out import WorkerJobOut
from .worker_job_out_from_step import WorkerJobOutFromStep
from .worker_job_out_status import WorkerJobOutStatus

__all__ = (
    "AssetList",
    "AssetOut",
    "AssetOutMetadata",
    "AssetOutType",
    "AuditEventList",
    "ChainCheck",
    "ChangeRole",
    "ChangeRoleRole",
    "ChangeStatus",
    "ChangeStatusStatus",
    "CompleteJob",
    "CreatePreset",
    "CreateProject",
    "CreateToken",
    "CreateUser",
    "CreateUserRole",
    "EstimateOut",
    "EstimateOutBreakdown",
    "EventOut",
    "EventOutData",
    "FailJob",
    "FieldError",
    "GenerationConfig",
    "GenerationConfigImageQuality",
    "GenerationConfigPatch",
    "GenerationConfigPatchImageQualityType0",
    "Health",
    "HealthChecks",
    "HealthStats",
    "HealthStatus",
    "History",
    "JobError",
    "JobErrorCode",
    "JobErrorDetailsType0",
    "JobErrorOut",
    "JobErrorOutCode",
    "JobErrorOutDetailsType0",
    "JobList",
    "JobManifest",
    "JobManifestFromStep",
    "JobManifestModelKeys",
    "JobManifestStartStep",
    "JobManifestStatus",
    "JobManifestVoice",
    "JobOut",
    "JobOutFromStep",
    "JobOutStatus",
    "JobProgress",
    "JobProgressCompletedStepsItem",
    "JobProgressStepType1",
    "JobProgressStepType2Type1",
    "JobProgressStepType3Type1",
    "LastRebuildOut",
    "LeaseOut",
    "ManifestImage",
    "ManifestImageMetadata",
    "ManifestProject",
    "ManifestScene",
    "ManifestStory",
    "MeOut",
    "MeOutRole",
    "MeOutUsage",
    "MergeScenes",
    "NotificationSettings",
    "NotificationSettingsPatch",
    "PresetList",
    "PresetOut",
    "PrivacySettings",
    "PrivacySettingsPatch",
    "Problem",
    "ProjectConfig",
    "ProjectConfigAspectRatio",
    "ProjectConfigPatch",
    "ProjectConfigPatchAspectRatioType0",
    "ProjectList",
    "ProjectOut",
    "ProjectOutStatus",
    "ProjectionList",
    "ProjectionOut",
    "ProjectionOutKind",
    "ProjectionOutState",
    "QueueJob",
    "RebuildProgressOut",
    "RegisterAsset",
    "RegisterAssetMetadataType0",
    "RegisterAssetType",
    "RegisterOutputType",
    "ReorderScenes",
    "ReportProgress",
    "ReportProgressStep",
    "RetryJob",
    "RetryJobFromStepType1",
    "RetryJobFromStepType2Type1",
    "RetryJobFromStepType3Type1",
    "SafetyConfig",
    "SafetyConfigAdultContent",
    "SafetyConfigContentPolicy",
    "SafetyConfigErrorStrategy",
    "SafetyConfigPatch",
    "SafetyConfigPatchAdultContentType0",
    "SafetyConfigPatchContentPolicyType0",
    "SafetyConfigPatchErrorStrategyType0",
    "SceneList",
    "SceneOut",
    "SetStory",
    "Settings",
    "SettingsGenerationDefaults",
    "SettingsLanguage",
    "SettingsPatch",
    "SettingsPatchGenerationDefaultsType0",
    "SettingsPatchLanguageType0",
    "SettingsPatchThemeType0",
    "SettingsTheme",
    "SplitScene",
    "StatsDay",
    "StatsReport",
    "SweepResult",
    "TemplateConfig",
    "TemplateConfigName",
    "TemplateConfigPatch",
    "TemplateConfigPatchNameType0",
    "TemplateConfigPatchTransitionsType0",
    "TemplateConfigTransitions",
    "TokenCreated",
    "TokenList",
    "TokenOut",
    "UpdateMe",
    "UpdatePreset",
    "UpdateProject",
    "UpdateScene",
    "UsageDay",
    "UsageReport",
    "UserCreated",
    "UserList",
    "UserOut",
    "UserOutRole",
    "ViewState",
    "ViewStateState",
    "VoiceConfig",
    "VoiceConfigAccent",
    "VoiceConfigLanguage",
    "VoiceConfigPatch",
    "VoiceConfigPatchAccentType0",
    "VoiceConfigPatchLanguageType0",
    "VoiceConfigPatchTypeType0",
    "VoiceConfigType",
    "WorkerJobOut",
    "WorkerJobOutFromStep",
    "WorkerJobOutStatus",
)
