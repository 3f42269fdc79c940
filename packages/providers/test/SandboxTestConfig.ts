/**
 * Where the sandbox tests find their components: the Docker engine started by scripts/setup-test-infra.sh (its
 * socket in `GLEITZEIT_DOCKER_SOCKET`, default the script's) and the image it built.
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"

/** The settings of the sandbox tests. */
export const settings = Config.all({
  socketPath: Config.string("GLEITZEIT_DOCKER_SOCKET").pipe(
    Config.withDefault("/var/lib/gleitzeit-ci/docker/docker.sock"),
    Config.withDescription("unix socket of the Docker engine the tests use")
  ),
  image: Config.string("GLEITZEIT_PYTHON_IMAGE").pipe(
    Config.withDefault("gleitzeit/python:3.11"),
    Config.withDescription("image with /usr/bin/python3 the Docker sandbox runs")
  )
})

/** The settings, read once from the environment. */
export const load: Effect.Effect<{ readonly socketPath: string; readonly image: string }> = Effect.orDie(settings)
