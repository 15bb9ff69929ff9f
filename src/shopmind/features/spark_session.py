"""A Spark session for the analytics and the recommenders, started on first use.

Settings are passed in (:class:`SparkSettings`; the CLI fills ``master`` from
``SHOPMIND_SPARK_MASTER``); nothing here reads the environment. Defaults suit one machine:
``local[2]``, the driver on 127.0.0.1, no UI, UTC, a temporary warehouse folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from shopmind.errors import ShopmindError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkSettings(BaseModel):
    """How to start the Spark session (passed in; nothing is read from the environment)."""

    model_config = ConfigDict(extra="forbid")
    master: str = "local[2]"
    app_name: str = "shopmind"
    driver_memory: str = "2g"
    shuffle_partitions: int = Field(default=4, ge=1)
    host: str = Field(default="127.0.0.1", description="driver address of local[...] masters")
    warehouse_dir: Path | None = Field(default=None, description="None: a temporary folder")
    conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")


class SparkEngine:
    """A Spark session started on first use and stopped by :meth:`stop` (or ``with``)."""

    def __init__(self, settings: SparkSettings | None = None) -> None:
        self.settings = settings or SparkSettings()
        self._session: SparkSession | None = None
        self._scratch: Path | None = None

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            self._session = self._start()
        return self._session

    def _start(self) -> SparkSession:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pyspark is optional (the dev extra has it)
            raise ShopmindError(
                "Spark needs pyspark.", hint="Install it: `pip install pyspark`."
            ) from exc
        s = self.settings
        warehouse = s.warehouse_dir
        if warehouse is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="shopmind-spark-"))
            warehouse = self._scratch
        conf = {
            "spark.driver.memory": s.driver_memory,
            "spark.sql.warehouse.dir": str(warehouse),
            "spark.local.dir": str(warehouse),
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": str(s.shuffle_partitions),
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            **s.conf,
        }
        if s.master.startswith("local"):  # a cluster's executors must reach the driver
            conf = {"spark.driver.host": s.host, "spark.driver.bindAddress": s.host, **conf}
        builder = SparkSession.builder.master(s.master).appName(s.app_name)
        for key, value in conf.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:
            raise ShopmindError(
                f"Could not start Spark ({s.master}): {exc}".splitlines()[0],
                hint="Spark needs Java 17+ on PATH (or JAVA_HOME); check `java -version`.",
            ) from exc
        session.sparkContext.setLogLevel("ERROR")
        return session

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
