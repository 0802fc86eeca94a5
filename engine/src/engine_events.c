/* engine_events.c — the engine's events: Docker's event objects to every subscriber, the last few
 * kept for replay. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"

struct engine_event_subscription {
    struct engine_events *events;
    engine_event_fn *callback;
    void *user;
    bool cancelled; /* cancelled during a dispatch: freed when it ends */
    struct engine_event_subscription *next;
};

struct engine_event_record {
    int64_t time_nanos;
    char *json; /* NULL: an empty slot */
};

struct engine_events {
    struct engine_event_subscription *subscriptions;
    /* Emits under way (a callback may cause another event): subscriptions
     * are only unlinked when none is, so no dispatch walks a freed one. */
    unsigned dispatching;
    bool sweep_needed;
    /* A ring of the last events, for GET /events?since=. */
    struct engine_event_record ring[ENGINE_EVENTS_KEPT];
    size_t ring_next; /* the slot the next event takes: the oldest when full */
};

/* The engine's event state, made on first use. NULL on ENOMEM. */
static struct engine_events *engine_events_get(struct engine *engine)
{
    if (engine->events == NULL)
        engine->events = calloc(1, sizeof *engine->events);
    return engine->events;
}

int engine_events_subscribe(struct engine *engine, engine_event_fn *callback, void *user,
                            struct engine_event_subscription **subscription, struct keel_error *err)
{
    struct engine_events *events = engine_events_get(engine);
    struct engine_event_subscription *added = calloc(1, sizeof *added);

    if (events == NULL || added == NULL) {
        free(added);
        return keel_error_set(err, ENOMEM, "subscribe to events");
    }
    added->events = events;
    added->callback = callback;
    added->user = user;
    /* At the head: a subscription made by a callback misses the event being
     * dispatched, which happened before it. */
    added->next = events->subscriptions;
    events->subscriptions = added;
    *subscription = added;
    return 0;
}

static void engine_events_unlink(struct engine_events *events,
                                 struct engine_event_subscription *subscription)
{
    for (struct engine_event_subscription **link = &events->subscriptions; *link != NULL;
         link = &(*link)->next) {
        if (*link == subscription) {
            *link = subscription->next;
            free(subscription);
            return;
        }
    }
}

void engine_events_cancel(struct engine_event_subscription *subscription)
{
    if (subscription == NULL)
        return;
    struct engine_events *events = subscription->events;
    if (events->dispatching > 0) {
        subscription->cancelled = true;
        events->sweep_needed = true;
        return;
    }
    engine_events_unlink(events, subscription);
}

static void engine_events_sweep(struct engine_events *events)
{
    struct engine_event_subscription **link = &events->subscriptions;
    while (*link != NULL) {
        struct engine_event_subscription *subscription = *link;
        if (subscription->cancelled) {
            *link = subscription->next;
            free(subscription);
        } else {
            link = &subscription->next;
        }
    }
    events->sweep_needed = false;
}

/* Docker's message (moby's events.Message): the deprecated status, id and
 * from are filled for container and image events only, from only when the
 * container has an image. */
static char *engine_event_json(const char *type, const char *action, const char *id,
                               json_t *attributes, int64_t time_nanos)
{
    json_t *event = json_object();
    json_t *actor = json_object();
    bool failed = event == NULL || actor == NULL;
    bool deprecated_fields = strcmp(type, "container") == 0 || strcmp(type, "image") == 0;
    json_t *image = json_object_get(attributes, "image");
    char *text = NULL;

    if (!failed && deprecated_fields) {
        failed |= json_object_set_new(event, "status", json_string(action)) < 0;
        failed |= json_object_set_new(event, "id", json_string(id)) < 0;
        if (strcmp(type, "container") == 0 && json_is_string(image) &&
            json_string_value(image)[0] != '\0')
            failed |= json_object_set(event, "from", image) < 0;
    }
    if (!failed) {
        failed |= json_object_set_new(event, "Type", json_string(type)) < 0;
        failed |= json_object_set_new(event, "Action", json_string(action)) < 0;
        failed |= json_object_set_new(actor, "ID", json_string(id)) < 0;
        failed |= json_object_set(actor, "Attributes", attributes) < 0;
        failed |= json_object_set(event, "Actor", actor) < 0;
        failed |= json_object_set_new(event, "scope", json_string("local")) < 0;
        failed |= json_object_set_new(event, "time", json_integer(time_nanos / 1000000000)) < 0;
        failed |= json_object_set_new(event, "timeNano", json_integer(time_nanos)) < 0;
    }
    if (!failed)
        text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(actor);
    json_decref(event);
    return text;
}

static void engine_events_keep(struct engine_events *events, char *json, int64_t time_nanos)
{
    struct engine_event_record *slot = &events->ring[events->ring_next];
    free(slot->json);
    slot->json = json;
    slot->time_nanos = time_nanos;
    events->ring_next = (events->ring_next + 1) % ENGINE_EVENTS_KEPT;
}

void engine_event_emit(struct engine *engine, const char *type, const char *action, const char *id,
                       json_t *attributes)
{
    struct engine_events *events = engine_events_get(engine);
    struct timespec now;

    if (attributes == NULL)
        attributes = json_object();
    /* Out of memory: the event is lost; there is no one to tell. */
    if (events == NULL || attributes == NULL) {
        json_decref(attributes);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t time_nanos = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    char *json = engine_event_json(type, action, id, attributes, time_nanos);
    json_decref(attributes);
    if (json == NULL)
        return;

    events->dispatching++;
    for (struct engine_event_subscription *subscription = events->subscriptions;
         subscription != NULL; subscription = subscription->next) {
        if (!subscription->cancelled)
            subscription->callback(json, subscription->user);
    }
    events->dispatching--;
    if (events->dispatching == 0 && events->sweep_needed)
        engine_events_sweep(events);
    engine_events_keep(events, json, time_nanos);
}

int engine_events_replay(struct engine *engine, int64_t since_nanos, int64_t until_nanos,
                         engine_event_fn *callback, void *user)
{
    struct engine_events *events = engine->events;
    int replayed = 0;

    if (events == NULL)
        return 0;
    /* From ring_next (the oldest slot once the ring has wrapped) round to
     * the newest; slots never filled are empty. */
    for (size_t i = 0; i < ENGINE_EVENTS_KEPT; i++) {
        const struct engine_event_record *record =
            &events->ring[(events->ring_next + i) % ENGINE_EVENTS_KEPT];
        if (record->json == NULL || record->time_nanos < since_nanos)
            continue;
        if (until_nanos > 0 && record->time_nanos > until_nanos)
            break;
        callback(record->json, user);
        replayed++;
    }
    return replayed;
}

void engine_events_free_all(struct engine *engine)
{
    struct engine_events *events = engine->events;

    if (events == NULL)
        return;
    while (events->subscriptions != NULL) {
        struct engine_event_subscription *next = events->subscriptions->next;
        free(events->subscriptions);
        events->subscriptions = next;
    }
    for (size_t i = 0; i < ENGINE_EVENTS_KEPT; i++)
        free(events->ring[i].json);
    free(events);
    engine->events = NULL;
}
