from services.kit.migrate import run_env
from services.profiles.models import Base

run_env(Base.metadata)
