"""`LocalAws`: moto on a loopback port with the project's resources, for one engine's life.

    local = LocalAws(project, locations)
    locations = local.start()     # the same Locations, plus the environment tasks get
    ...                           # run tasks: boto3 in them reaches moto
    local.close()                 # tables saved under .cirro/aws/, server stopped

The buckets behind CIRRUS_DATA_BUCKET and CIRRUS_PAYLOAD_BUCKET mirror the engine's own
folders (mirror.py); DynamoDB items are saved under `.cirro/aws/dynamodb/` (tables.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cirrostratus.aws.local import mirror
from cirrostratus.aws.local.batch_logs import serve_batch_logs, stop_batch_logs
from cirrostratus.aws.local.resources import Created, Creator
from cirrostratus.aws.local.server import MotoServer
from cirrostratus.aws.local.tables import PeriodicSaver, restore_tables, save_tables
from cirrostratus.runtime.env import FUNCTION_PREFIX, StackContext, Unresolvable, local_value
from cirrostratus.storage.keys import url_path
from cirrostratus.storage.locations import Locations

logger = logging.getLogger(__name__)
TEST_KEY = "testing"  # moto accepts any credentials; these are the ones moto's docs use
#: what the engine's own process needs to read s3:// URLs tasks hand back (s3fs → moto)
PROCESS_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
#: Cirrus's variables and the builtin resource each names (cirrus.yml normally says so too)
CIRRUS_REFS = {
    "CIRRUS_PROCESS_QUEUE_URL": "ProcessQueue",
    "CIRRUS_PUBLISH_TOPIC_ARN": "PublishTopic",
    "CIRRUS_FAILED_TOPIC_ARN": "FailedTopic",
    "CIRRUS_INVALID_TOPIC_ARN": "FailedTopic",
    "CIRRUS_STATE_DB": "StateTable",
}


class LocalAws:
    """One local AWS: server, resources, environment, persistence."""

    def __init__(
        self, project: Any, locations: Locations, stack: StackContext | None = None
    ) -> None:
        from cirrostratus.runtime.spec import stack_of

        self.project = project
        self.locations = locations
        self.stack = stack or stack_of(project)
        self.server = MotoServer()
        self.created = Created()
        self.environment: dict[str, str] = {}
        self.data_bucket = ""
        self.payload_bucket = ""
        self.tables: list[str] = []
        self.mirrored: dict[str, Path] = {}
        self.started_s = 0.0
        self.restored_items = 0
        self._saved_env: dict[str, str | None] = {}
        self._saver: PeriodicSaver | None = None
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    # --- starting ------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def folder(self) -> Path:
        """`.cirro/aws/`: table snapshots, other buckets' folders, the AWS config file."""
        return self.locations.root / "aws"

    def client(self, service: str) -> Any:
        """A boto3 client on the local endpoint (our own calls never read the user's config);
        one per service, since making a client costs tens of milliseconds."""
        if service in self._clients:
            return self._clients[service]
        if self._session is None:
            import boto3

            self._session = boto3.session.Session(
                aws_access_key_id=TEST_KEY,
                aws_secret_access_key=TEST_KEY,
                region_name=self.stack.region,
            )
        client = self._session.client(service, endpoint_url=self.endpoint)
        self._clients[service] = client
        return client

    def start(self) -> Locations:
        """Start moto, create the resources, restore the tables; the Locations tasks use."""
        began = time.monotonic()
        self.server.start()
        try:
            self._write_config()
            self._set_process_env()
            creator = Creator(self.client, self.stack)
            self.created = creator.create_all(getattr(self.project, "resources", {}) or {})
            self.data_bucket = self._bucket("CIRRUS_DATA_BUCKET", "data", creator)
            self.payload_bucket = self._bucket("CIRRUS_PAYLOAD_BUCKET", "payloads", creator)
            self._mirror()
            serve_batch_logs(self.locations.logs_dir)
            for bucket in sorted({self.data_bucket, self.payload_bucket}):
                name = f"cirrus-creds-{bucket}"  # what Cirrus's publish looks up per bucket
                arn = creator.secret(
                    name,
                    f'{{"aws_access_key_id": "{TEST_KEY}", "aws_secret_access_key": "{TEST_KEY}"}}',
                )
                self.created.refs[name] = {"Ref": arn, "Id": arn}
                self.created.kinds[name] = "AWS::SecretsManager::Secret"
            self.tables = [r["Ref"] for r in self.created.of_type("AWS::DynamoDB::Table").values()]
            self.restored_items = restore_tables(
                self.client("dynamodb"), self.tables, self.folder / "dynamodb"
            )
            self.environment = self._task_environment()
        except BaseException:
            self.close(save=False)
            raise
        self._saver = PeriodicSaver(self.save)
        self._saver.start()
        self.started_s = time.monotonic() - began
        self.locations = replace(
            self.locations, aws=dict(self.environment), aws_refs=self.created.refs
        )
        return self.locations

    def _write_config(self) -> None:
        """An AWS config of its own, so a profile in the user's environment cannot point task
        code (or s3fs here) at a real account."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "config").write_text(f"[default]\nregion = {self.stack.region}\n")
        (self.folder / "credentials").write_text(
            f"[default]\naws_access_key_id = {TEST_KEY}\naws_secret_access_key = {TEST_KEY}\n"
        )

    def _credentials(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": TEST_KEY,
            "AWS_SECRET_ACCESS_KEY": TEST_KEY,
            "AWS_SESSION_TOKEN": TEST_KEY,
            "AWS_DEFAULT_REGION": self.stack.region,
            "AWS_PROFILE": "default",
            "AWS_CONFIG_FILE": str(self.folder / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.folder / "credentials"),
        }

    def _set_process_env(self) -> None:
        """The engine reads `s3://` claim checks tasks return through s3fs: point it here."""
        values = self._credentials()
        for key in PROCESS_KEYS:
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = values[key]
        _forget_s3fs()

    def _restore_process_env(self) -> None:
        for key, old in self._saved_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self._saved_env.clear()
        _forget_s3fs()

    def _bucket(self, variable: str, kind: str, creator: Creator) -> str:
        """The bare bucket name behind CIRRUS_DATA_BUCKET / CIRRUS_PAYLOAD_BUCKET (created
        when the project's template has no such bucket): what cirrus.yml's `!Ref Data`
        resolves to, or a name it gives, else `<stack>-<kind>`."""
        raw = (getattr(self.project, "provider_environment", None) or {}).get(variable)
        name = ""
        if raw is not None:
            try:
                name = local_value(raw, self.stack, self.created.refs)
            except Unresolvable:
                name = ""
        if name.startswith("s3://"):
            name = name[5:].split("/", 1)[0]
        if not name or "://" in name or "/" in name:
            name = f"{self.stack.stack_name}-{kind}".lower()
        known = {refs["Ref"] for refs in self.created.of_type("AWS::S3::Bucket").values()}
        if name not in known:  # not in the template: made here, listed with the rest
            creator.bucket(name)
            self.created.refs[name] = {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
            self.created.kinds[name] = "AWS::S3::Bucket"
        return name

    def _mirror(self) -> None:
        """Data and payload buckets onto the engine's folders; any other bucket onto
        `.cirro/aws/s3/<bucket>/`."""
        folders: dict[str, Path] = {}
        for refs in self.created.of_type("AWS::S3::Bucket").values():
            folders[refs["Ref"]] = self.folder / "s3" / refs["Ref"]
        for bucket, url in (
            (self.data_bucket, self.locations.data_url),
            (self.payload_bucket, self.locations.payload_url),
        ):
            if url.startswith("file://"):
                folders[bucket] = Path(url_path(url))
            else:  # the user keeps that store elsewhere: moto's copy is kept beside the rest
                folders[bucket] = self.folder / "s3" / bucket
        mirror.mirror(folders)
        self.mirrored = folders

    def _task_environment(self) -> dict[str, str]:
        """What tasks see on top of their own environment (see docs/local-aws.md)."""
        env = {
            "CIRRUS_DATA_BUCKET": self.data_bucket,
            "CIRRUS_PAYLOAD_BUCKET": self.payload_bucket,
            "CIRRUS_STACK": self.stack.stack_name,
            **self._credentials(),
            "AWS_REGION": self.stack.region,
            # GDAL (rasterio's /vsis3/) does not read AWS_ENDPOINT_URL
            "AWS_S3_ENDPOINT": self.endpoint.removeprefix("http://"),
            "AWS_HTTPS": "NO",
            "AWS_VIRTUAL_HOSTING": "FALSE",
            FUNCTION_PREFIX: f"{self.stack.stack_name}-",
            "CIRRO_AWS": "local",
        }
        for variable, logical_id in CIRRUS_REFS.items():
            ref = self.created.refs.get(logical_id, {}).get("Ref")
            if ref:
                env[variable] = ref
        return env

    # --- running and closing -------------------------------------------------------------

    def services(self) -> list[Any]:
        """What a serving engine runs beside its drain loop: the ProcessQueue forwarder."""
        from cirrostratus.aws.local.forward import process_queue_service

        forward = process_queue_service(self)
        return [] if forward is None else [forward]

    def save(self) -> int:
        """Save every table's items under `.cirro/aws/dynamodb/`; returns how many."""
        if not self.endpoint or not self.tables:
            return 0
        return save_tables(self.client("dynamodb"), self.tables, self.folder / "dynamodb")

    def close(self, save: bool = True) -> None:
        """Save the tables, stop mirroring and the server, give the process its env back."""
        if self._saver is not None:
            self._saver.stop()
            self._saver = None
        try:
            if save:
                try:
                    self.save()
                except Exception as exc:
                    logger.warning("local AWS tables not saved at close: %s", exc)
        finally:
            mirror.unmirror()
            stop_batch_logs()
            self.server.stop()
            self._restore_process_env()

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        """One line for the terminal: where it runs and what was created."""
        return f"local AWS at {self.endpoint} ({self.started_s:.1f}s): {self.created.summary()}"

    def resource_names(self) -> Mapping[str, str]:
        """Logical id → Ref of everything created (for `--json` and tests)."""
        return {lid: refs["Ref"] for lid, refs in self.created.refs.items()}


def _forget_s3fs() -> None:
    """Drop cached S3 file systems: one made before the switch would keep its endpoint."""
    try:
        import s3fs
    except ImportError:
        return
    s3fs.S3FileSystem.clear_instance_cache()
