// Path parameters: `:name` (and Mummy's `@name`) capture one path segment into request.pathParams.
// Run: node examples/path_params.js, then open http://localhost:8080/users/42/posts/hello
import { Router, createServer } from '@mummy/server'

const router = new Router()
router.get('/users/:userId/posts/@slug', (request) => {
  const { userId, slug } = request.pathParams
  request.respond(200, { 'Content-Type': 'text/plain' }, `user ${userId}, post ${slug}\n`)
})

await createServer(router).listen(Number(process.env.PORT ?? 8080))
